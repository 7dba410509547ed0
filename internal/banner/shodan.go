package banner

import (
	"cmp"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Shodan's banner (https://datapedia.shodan.io, the Shodan banner
// specification): one service a line, {"ip_str", "port", "transport",
// "timestamp", "data", "product", "version", "_shodan": {"module"},
// "http": {"status", "title", "server", "html", "html_hash", "favicon":
// {"hash", "data"}}, "ssl": {"cert": {"subject", "issuer", "fingerprint":
// {"sha256"}}, "chain": [PEM]}}. Exports written through Python give some
// integers as floats ("port": 80.0), which flexInt takes.

type shodanBanner struct {
	IPStr     string      `json:"ip_str"`
	Port      flexInt     `json:"port"`
	Transport string      `json:"transport,omitempty"`
	Timestamp string      `json:"timestamp,omitempty"`
	Data      string      `json:"data,omitempty"`
	Product   string      `json:"product,omitempty"`
	Version   string      `json:"version,omitempty"`
	Shodan    *shodanMeta `json:"_shodan,omitempty"`
	HTTP      *shodanHTTP `json:"http,omitempty"`
	SSL       *shodanSSL  `json:"ssl,omitempty"`
}

type shodanMeta struct {
	Module string `json:"module,omitempty"`
}

type shodanHTTP struct {
	Status   flexInt        `json:"status,omitempty"`
	Title    *string        `json:"title,omitempty"` // null: the page has none
	Server   *string        `json:"server,omitempty"`
	HTML     *string        `json:"html,omitempty"`
	HTMLHash flexInt        `json:"html_hash,omitempty"` // MurmurHash3, not the body's SHA-256
	Favicon  *shodanFavicon `json:"favicon,omitempty"`
}

type shodanFavicon struct {
	Hash     *flexInt `json:"hash,omitempty"`
	Data     string   `json:"data,omitempty"` // base64 of the icon
	Location string   `json:"location,omitempty"`
}

type shodanSSL struct {
	Cert  *shodanCert `json:"cert,omitempty"`
	Chain []string    `json:"chain,omitempty"`
}

type shodanCert struct {
	Subject     map[string]string `json:"subject,omitempty"`
	Issuer      map[string]string `json:"issuer,omitempty"`
	Fingerprint struct {
		SHA256 string `json:"sha256,omitempty"`
	} `json:"fingerprint"`
}

func decodeShodan(v []byte, recs []Record) ([]Record, error) {
	var b shodanBanner
	if err := unmarshalJSON(v, &b); err != nil {
		return recs, err
	}
	rec := Record{Source: string(FormatShodan), Product: strings.TrimSpace(b.Product + " " + b.Version)}
	var err error
	if rec.Addr, err = parseAddr(b.IPStr); err != nil {
		return recs, err
	}
	if rec.Port, err = b.Port.port(); err != nil {
		return recs, err
	}
	if rec.Transport, err = parseTransport(b.Transport); err != nil {
		return recs, err
	}
	if rec.Time, err = parseTime(b.Timestamp); err != nil {
		return recs, err
	}
	if b.HTTP != nil {
		if err := b.HTTP.fill(&rec.HTTP, b.Data); err != nil {
			return recs, err
		}
	}
	if b.SSL != nil {
		rec.TLS = b.SSL.tls()
	}
	module := ""
	if b.Shodan != nil {
		module = b.Shodan.Module
	}
	switch {
	case strings.HasPrefix(module, "ssh"), module == "" && strings.HasPrefix(b.Data, "SSH-"):
		rec.SSH = greeting(firstLine(b.Data))
	case strings.HasPrefix(module, "telnet"):
		rec.Telnet = greeting(b.Data)
	case strings.HasPrefix(module, "ftp"):
		rec.FTP = greeting(b.Data)
	}
	return append(recs, rec), nil
}

func (h *shodanHTTP) fill(out *HTTP, data string) error {
	head := parseRawHTTP(data) // Shodan's data holds the response's head
	out.Status = cmp.Or(int(h.Status), head.status)
	out.Title = cleanText(deref(h.Title))
	out.Server = cleanText(cmp.Or(deref(h.Server), head.server))
	out.WWWAuthenticate = cleanText(head.wwwAuthenticate)
	out.setBody(deref(h.HTML), "")
	if f := h.Favicon; f != nil {
		if f.Hash != nil {
			mmh3, err := f.Hash.mmh3()
			if err != nil {
				return err
			}
			out.FaviconMMH3, out.HasFaviconMMH3 = mmh3, true
		}
		if icon, err := base64.StdEncoding.DecodeString(strings.TrimSpace(f.Data)); err == nil && len(icon) > 0 {
			sum := md5.Sum(icon)
			out.FaviconMD5 = hex.EncodeToString(sum[:])
		}
	}
	return nil
}

func (s *shodanSSL) tls() TLS {
	var t TLS
	if len(s.Chain) > 0 {
		t, _ = pemTLS(s.Chain[0]) // the leaf: its SANs, which cert does not list
	}
	if c := s.Cert; c != nil {
		t.Subject = cmp.Or(dnFromShodan(c.Subject), t.Subject)
		t.Issuer = cmp.Or(dnFromShodan(c.Issuer), t.Issuer)
		t.SHA256 = cmp.Or(strings.ToLower(c.Fingerprint.SHA256), t.SHA256)
	}
	if t.SHA256 == "" {
		return TLS{}
	}
	return t
}

func dnFromShodan(m map[string]string) string {
	attrs := make([]dnAttr, 0, len(m))
	for k, v := range m {
		attrs = append(attrs, dnAttr{k, v})
	}
	return formatDN(attrs)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// shodanValue is a Record as a Shodan banner. The favicon's MD5 has no
// place (Shodan gives the icon's bytes, which a Record does not keep);
// SANs neither (they live in the PEM chain).
func shodanValue(rec *Record) (any, error) {
	b := shodanBanner{
		IPStr:     rec.Addr.String(),
		Port:      flexInt(rec.Port),
		Transport: rec.Transport.String(),
		Timestamp: shodanTime(rec),
		Product:   rec.Product,
		Shodan:    &shodanMeta{},
	}
	switch {
	case rec.HTTP.Status != 0 || rec.HTTP.BodySHA256 != "":
		b.Shodan.Module = "http"
		b.Data = rawHead(&rec.HTTP)
		h := &shodanHTTP{Status: flexInt(rec.HTTP.Status), Title: &rec.HTTP.Title, Server: &rec.HTTP.Server, HTML: &rec.HTTP.Body}
		if rec.HTTP.HasFaviconMMH3 {
			hash := flexInt(rec.HTTP.FaviconMMH3)
			h.Favicon = &shodanFavicon{Hash: &hash}
		}
		b.HTTP = h
	case rec.SSH != "":
		b.Shodan.Module, b.Data = "ssh", rec.SSH+"\n"
	case rec.Telnet != "":
		b.Shodan.Module, b.Data = "telnet", rec.Telnet
	case rec.FTP != "":
		b.Shodan.Module, b.Data = "ftp", rec.FTP
	case rec.TLS.SHA256 != "":
		b.Shodan.Module = "https"
	default:
		return nil, fmt.Errorf("shodan: record of %s port %d: %w", rec.Addr, rec.Port, ErrNotCarried)
	}
	if rec.TLS.SHA256 != "" {
		c := &shodanCert{Subject: shodanDN(rec.TLS.Subject), Issuer: shodanDN(rec.TLS.Issuer)}
		c.Fingerprint.SHA256 = rec.TLS.SHA256
		b.SSL = &shodanSSL{Cert: c}
	}
	return b, nil
}

func shodanDN(dn string) map[string]string {
	m := map[string]string{}
	for k, vs := range dnMap(dn, nil) {
		m[k] = strings.Join(vs, ", ") // Shodan keeps one value per attribute
	}
	return m
}

// shodanTime writes Shodan's zoneless microseconds.
func shodanTime(rec *Record) string {
	if rec.Time.IsZero() {
		return ""
	}
	return rec.Time.UTC().Format("2006-01-02T15:04:05.000000")
}

// rawHead writes an HTTP response's status line and the headers a Record
// keeps, as Shodan's data and masscan's banner carry them.
func rawHead(h *HTTP) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", h.Status, statusText(h.Status))
	if h.Server != "" {
		fmt.Fprintf(&b, "Server: %s\r\n", h.Server)
	}
	if h.WWWAuthenticate != "" {
		fmt.Fprintf(&b, "WWW-Authenticate: %s\r\n", h.WWWAuthenticate)
	}
	b.WriteString("\r\n")
	return b.String()
}
