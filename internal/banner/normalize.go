package banner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// setBody keeps the first MaxBody bytes of body (made valid UTF-8, cut on
// a character boundary) and its hash: sum, the format's own, or the
// SHA-256 of the body bytes the file carries. Without a title it takes
// the page's <title>.
func (h *HTTP) setBody(body, sum string) {
	if body == "" && sum == "" {
		return
	}
	if sum == "" {
		s := sha256.Sum256([]byte(body))
		sum = hex.EncodeToString(s[:])
	}
	h.BodySHA256 = strings.ToLower(sum)
	if h.Title == "" {
		h.Title = htmlTitle(body)
	}
	h.Body = truncateUTF8(body, MaxBody)
}

// truncateUTF8 returns s as valid UTF-8 (invalid bytes replaced by U+FFFD)
// in at most n bytes, cut before a character.
func truncateUTF8(s string, n int) string {
	if len(s) > n+utf8.UTFMax { // enough to cut n bytes on a boundary
		s = s[:n+utf8.UTFMax]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// htmlTitle returns the text of the first <title> of a page, entities
// decoded and blanks collapsed; "" without one.
func htmlTitle(body string) string {
	open := indexFold(body, "<title")
	if open < 0 {
		return ""
	}
	rest := body[open+len("<title"):]
	if rest == "" || rest[0] != '>' && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\n' && rest[0] != '\r' {
		return "" // <titlebar> is not a title
	}
	gt := strings.IndexByte(rest, '>')
	if gt < 0 {
		return ""
	}
	rest = rest[gt+1:]
	end := indexFold(rest, "</title")
	if end < 0 {
		end = min(len(rest), 1024) // an unclosed title: take a line's worth
		if nl := strings.IndexAny(rest[:end], "<\n"); nl >= 0 {
			end = nl
		}
	}
	return cleanText(html.UnescapeString(rest[:end]))
}

// cleanText trims s, collapses its runs of blanks into one space and
// makes it valid UTF-8.
func cleanText(s string) string {
	if isCleanASCII(s) {
		return s // most headers and titles: no copy
	}
	s = strings.Join(strings.Fields(s), " ")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// isCleanASCII reports whether s is ASCII that cleanText leaves as it
// is: no blank at either end, no blank but single spaces.
func isCleanASCII(s string) bool {
	if s != "" && (s[0] == ' ' || s[len(s)-1] == ' ') {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf, c >= '\t' && c <= '\r', c == ' ' && s[i+1] == ' ':
			return false
		}
	}
	return true
}

// indexFold is strings.Index for an ASCII needle starting with "<",
// ignoring ASCII case.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+len(needle) <= len(s) && strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

// rawHTTP is what an HTTP response as raw bytes says (masscan's banner,
// Shodan's data).
type rawHTTP struct {
	status                  int
	server, wwwAuthenticate string
	body                    string
	hasHead                 bool
}

// parseRawHTTP reads a status line, the headers and the body of a raw
// response; hasHead is false when raw does not start with "HTTP/".
func parseRawHTTP(raw string) rawHTTP {
	var r rawHTTP
	if !strings.HasPrefix(raw, "HTTP/") {
		return r
	}
	r.hasHead = true
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		head, body, _ = strings.Cut(raw, "\n\n")
	}
	r.body = body
	statusLine, headers, _ := strings.Cut(head, "\n")
	if f := strings.Fields(statusLine); len(f) >= 2 {
		if code, err := strconv.Atoi(f[1]); err == nil && code >= 100 && code <= 999 {
			r.status = code
		}
	}
	for line := range strings.SplitSeq(headers, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(strings.TrimSpace(name), "Server") && r.server == "":
			r.server = value
		case strings.EqualFold(strings.TrimSpace(name), "WWW-Authenticate") && r.wwwAuthenticate == "":
			r.wwwAuthenticate = value
		}
	}
	return r
}

// flexInt is a JSON integer that some exporters write as a float (80.0,
// -1.275226298e+09) or a string ("1700000000"); a fraction is an error.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt(i)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return fmt.Errorf("not an integer: %.40s", b)
	}
	*n = flexInt(f)
	return nil
}

// port returns n as a port, an error when it is out of range (0 included:
// no scan sees a service on port 0).
func (n flexInt) port() (uint16, error) {
	if n <= 0 || n > math.MaxUint16 {
		return 0, fmt.Errorf("bad port %d", n)
	}
	return uint16(n), nil
}

// parsePort reads a port written as text (Nmap's portid).
func parsePort(s string) (uint16, error) {
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return uint16(p), nil
}

// mmh3 returns a favicon hash that fits Shodan's signed 32 bits.
func (n flexInt) mmh3() (int32, error) {
	if n < math.MinInt32 || n > math.MaxInt32 {
		// Some exports write the unsigned form; it is the same hash.
		if n > math.MaxInt32 && n <= math.MaxUint32 {
			return int32(uint32(n)), nil
		}
		return 0, fmt.Errorf("favicon hash %d out of 32 bits", n)
	}
	return int32(n), nil
}

// parseAddr reads a scanned address; "" and malformed ones are errors (a
// record without its address is no evidence of anything).
func parseAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, fmt.Errorf("no address")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("bad address %.60q", s)
	}
	return a.Unmap(), nil
}

func parseTransport(s string) (Transport, error) {
	switch strings.ToLower(s) {
	case "", "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	}
	return TCP, fmt.Errorf("bad transport %.20q", s)
}

// timeLayouts are the scan times the formats write: RFC 3339 (zgrab2,
// Censys) and Shodan's zoneless microseconds, which are UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"}

// parseTime reads a scan time; "" is the zero Time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp %.40q", s)
}

// unixTime reads seconds since the epoch (masscan, Nmap); 0 is the zero
// Time.
func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// firstLine returns s up to its first line ending, trimmed.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// greeting is a banner as the Record keeps it: blanks trimmed, valid
// UTF-8, at most MaxBody bytes.
func greeting(s string) string {
	return truncateUTF8(strings.TrimSpace(s), MaxBody)
}

// statusText is the reason phrase of an HTTP status ("" for an unknown one).
func statusText(code int) string { return http.StatusText(code) }

// hasEvidence reports whether r says anything a signature can match: a
// port that answered nothing is no service.
func (r *Record) hasEvidence() bool {
	h := &r.HTTP
	return h.Status != 0 || h.Title != "" || h.Server != "" || h.BodySHA256 != "" || h.FaviconMD5 != "" || h.HasFaviconMMH3 ||
		r.TLS.SHA256 != "" || r.SSH != "" || r.Telnet != "" || r.FTP != "" || r.UPnP != ""
}
