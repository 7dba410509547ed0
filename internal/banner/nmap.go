package banner

import (
	"bufio"
	"cmp"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Nmap's XML output (-oX; docs/nmap.dtd): <nmaprun start> of <host
// starttime> elements, each with <address addr addrtype> and
// <ports><port protocol portid><state state/><service name product version
// extrainfo tunnel/><script id output>…</script></port></ports>. The
// scripts read are http-title, http-server-header, ssl-cert (subject and
// issuer tables, sha256 or the PEM, the SAN extension) and banner. Hosts
// are decoded one at a time from the token stream, so a file of any size
// takes the memory of one host.

type nmapHost struct {
	XMLName   xml.Name      `xml:"host"`
	StartTime int64         `xml:"starttime,attr,omitempty"`
	Status    *nmapState    `xml:"status,omitempty"`
	Addresses []nmapAddress `xml:"address"`
	Ports     []nmapPort    `xml:"ports>port"`
}

type nmapAddress struct {
	Addr     string `xml:"addr,attr"`
	AddrType string `xml:"addrtype,attr"`
}

type nmapPort struct {
	Protocol string       `xml:"protocol,attr"`
	PortID   string       `xml:"portid,attr"`
	State    nmapState    `xml:"state"`
	Service  *nmapService `xml:"service,omitempty"`
	Scripts  []nmapScript `xml:"script"`
}

type nmapState struct {
	State string `xml:"state,attr"`
}

type nmapService struct {
	Name      string `xml:"name,attr"`
	Product   string `xml:"product,attr,omitempty"`
	Version   string `xml:"version,attr,omitempty"`
	ExtraInfo string `xml:"extrainfo,attr,omitempty"`
	Tunnel    string `xml:"tunnel,attr,omitempty"`
}

type nmapScript struct {
	ID     string      `xml:"id,attr"`
	Output string      `xml:"output,attr"`
	Elems  []nmapElem  `xml:"elem"`
	Tables []nmapTable `xml:"table"`
}

type nmapTable struct {
	Key    string      `xml:"key,attr,omitempty"`
	Elems  []nmapElem  `xml:"elem"`
	Tables []nmapTable `xml:"table"`
}

type nmapElem struct {
	Key   string `xml:"key,attr,omitempty"`
	Value string `xml:",chardata"`
}

func (t *nmapTable) elem(key string) string {
	for _, e := range t.Elems {
		if e.Key == key {
			return e.Value
		}
	}
	return ""
}

// unescape undoes Nmap's \xHH escapes in every value (a Japanese title
// reads "\xE3\x83\xAD..." in the file).
func (t *nmapTable) unescape() {
	for i := range t.Elems {
		t.Elems[i].Value = nmapUnescape(t.Elems[i].Value)
	}
	for i := range t.Tables {
		t.Tables[i].unescape()
	}
}

func (t *nmapTable) table(key string) *nmapTable {
	for i := range t.Tables {
		if t.Tables[i].Key == key {
			return &t.Tables[i]
		}
	}
	return nil
}

type nmapDecoder struct {
	d      *xml.Decoder
	start  int64 // <nmaprun start>: the time of hosts without their own
	hosts  int
	done   bool
	closed bool
}

func newNmapDecoder(br *bufio.Reader) *nmapDecoder {
	d := xml.NewDecoder(br)
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return r, nil
		}
		return nil, fmt.Errorf("unsupported XML encoding %q", charset)
	}
	return &nmapDecoder{d: d}
}

func (n *nmapDecoder) lines() int { return n.hosts }

func (n *nmapDecoder) stop() { n.closed = true }

func (n *nmapDecoder) decode(recs []Record) ([]Record, error) {
	if n.closed {
		return recs, errClosed
	}
	for !n.done {
		line, _ := n.d.InputPos()
		tok, err := n.d.Token()
		if errors.Is(err, io.EOF) {
			return recs, io.EOF
		}
		if err != nil {
			return recs, n.syntaxError(err, line)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "nmaprun":
			for _, a := range se.Attr {
				if a.Name.Local == "start" {
					n.start, _ = strconv.ParseInt(a.Value, 10, 64)
				}
			}
		case "host":
			var h nmapHost
			if err := n.d.DecodeElement(&h, &se); err != nil {
				return recs, n.syntaxError(err, line)
			}
			n.hosts++
			first := len(recs)
			if recs, err = h.records(recs, n.start); err != nil {
				return recs[:first], &SkipError{Line: line, Reason: err.Error()}
			}
			if len(recs) > first {
				return recs, nil
			}
		}
	}
	return recs, io.EOF
}

// syntaxError makes a broken document fatal (XML cannot be read past
// one), except an end of file inside it: an interrupted scan's file,
// whose whole hosts were all read, is skipped to its end.
func (n *nmapDecoder) syntaxError(err error, line int) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF") {
		n.done = true
		return &SkipError{Line: se.Line, Reason: "the file ends inside an element (an interrupted scan?)"}
	}
	return fmt.Errorf("nmap XML near line %d: %w", line, err)
}

func (h *nmapHost) records(recs []Record, runStart int64) ([]Record, error) {
	var addrText string
	for _, a := range h.Addresses {
		if a.AddrType == "ipv4" || a.AddrType == "ipv6" {
			addrText = a.Addr
			break
		}
	}
	addr, err := parseAddr(addrText)
	if err != nil {
		return recs, err
	}
	t := unixTime(h.StartTime)
	if t.IsZero() {
		t = unixTime(runStart)
	}
	for _, p := range h.Ports {
		if p.State.State != "open" {
			continue
		}
		rec := Record{Addr: addr, Time: t, Source: string(FormatNmap)}
		if rec.Port, err = parsePort(p.PortID); err != nil {
			return recs, err
		}
		if rec.Transport, err = parseTransport(p.Protocol); err != nil {
			return recs, err
		}
		p.fill(&rec)
		if rec.hasEvidence() {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

func (p *nmapPort) fill(rec *Record) {
	service := ""
	if s := p.Service; s != nil {
		service = s.Name
		product := strings.TrimSpace(s.Product + " " + s.Version)
		if s.ExtraInfo != "" {
			product = strings.TrimSpace(product + " (" + s.ExtraInfo + ")")
		}
		rec.Product = product
	}
	for i := range p.Scripts {
		s := &p.Scripts[i]
		t := nmapTable{Elems: s.Elems, Tables: s.Tables}
		t.unescape()
		s.Output = nmapUnescape(s.Output)
		switch s.ID {
		case "http-title":
			title := t.elem("title")
			if title == "" && !strings.HasPrefix(s.Output, "Site doesn't have a title") {
				title = firstLine(s.Output)
			}
			rec.HTTP.Title = cleanText(title)
		case "http-server-header":
			rec.HTTP.Server = cleanText(cmp.Or(t.elem(""), firstLine(s.Output)))
		case "ssl-cert":
			rec.TLS = nmapCert(&t)
		case "banner":
			b := greeting(s.Output)
			switch {
			case service == "ssh" || strings.HasPrefix(b, "SSH-"):
				rec.SSH = firstLine(b)
			case service == "telnet":
				rec.Telnet = b
			case service == "ftp":
				rec.FTP = b
			}
		}
	}
}

func nmapCert(t *nmapTable) TLS {
	var out TLS
	if pemText := t.elem("pem"); pemText != "" {
		out, _ = pemTLS(pemText)
	}
	if sum := strings.ReplaceAll(t.elem("sha256"), " ", ""); len(sum) == 64 {
		if _, err := hex.DecodeString(sum); err == nil {
			out.SHA256 = strings.ToLower(sum)
		}
	}
	if out.SHA256 == "" {
		return TLS{} // a certificate that cannot be named
	}
	for _, side := range []struct {
		key string
		dst *string
	}{{"subject", &out.Subject}, {"issuer", &out.Issuer}} {
		if tab := t.table(side.key); tab != nil {
			attrs := make([]dnAttr, 0, len(tab.Elems))
			for _, e := range tab.Elems {
				attrs = append(attrs, dnAttr{e.Key, e.Value})
			}
			*side.dst = formatDN(attrs)
		}
	}
	if ext := t.table("extensions"); ext != nil {
		for _, e := range ext.Tables {
			if e.elem("name") == "X509v3 Subject Alternative Name" {
				out.SANs = parseSANs(e.elem("value"))
			}
		}
	}
	return out
}

// parseSANs reads OpenSSL's "DNS:a, DNS:b, IP Address:192.0.2.1".
func parseSANs(v string) []string {
	var sans []string
	for part := range strings.SplitSeq(v, ",") {
		_, name, ok := strings.Cut(strings.TrimSpace(part), ":")
		if ok && name != "" {
			sans = append(sans, strings.TrimSpace(name))
		}
	}
	return sans
}

// nmapUnescape undoes the \xHH escapes Nmap writes for the bytes of a
// banner it cannot print.
func nmapUnescape(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// nmapPortOf is a Record as an open port with its service and scripts:
// http-title, http-server-header, ssl-cert (subject, issuer, sha256, SANs)
// and banner. Nmap has no place for an HTTP status, WWW-Authenticate, the
// body or a favicon.
func nmapPortOf(rec *Record) (nmapPort, error) {
	p := nmapPort{Protocol: rec.Transport.String(), PortID: strconv.Itoa(int(rec.Port)), State: nmapState{"open"}}
	s := &nmapService{Product: rec.Product}
	script := func(id, output string, elems []nmapElem, tables ...nmapTable) {
		p.Scripts = append(p.Scripts, nmapScript{ID: id, Output: output, Elems: elems, Tables: tables})
	}
	if rec.HTTP.Title != "" || rec.HTTP.Server != "" {
		s.Name = "http"
		if rec.HTTP.Title != "" {
			title := nmapEscape(rec.HTTP.Title)
			script("http-title", title, []nmapElem{{"title", title}})
		}
		if rec.HTTP.Server != "" {
			server := nmapEscape(rec.HTTP.Server)
			script("http-server-header", server, []nmapElem{{"", server}})
		}
	}
	for _, g := range []struct{ name, banner string }{{"ssh", rec.SSH}, {"telnet", rec.Telnet}, {"ftp", rec.FTP}} {
		if g.banner != "" {
			s.Name = g.name
			script("banner", nmapEscape(g.banner), nil)
		}
	}
	if t := &rec.TLS; t.SHA256 != "" {
		if s.Name == "" {
			s.Name = "ssl"
		} else {
			s.Tunnel = "ssl"
		}
		tables := []nmapTable{nmapDNTable("subject", t.Subject), nmapDNTable("issuer", t.Issuer)}
		if len(t.SANs) > 0 {
			names := make([]string, len(t.SANs))
			for i, san := range t.SANs {
				names[i] = "DNS:" + san
				if isIP(san) {
					names[i] = "IP Address:" + san
				}
			}
			tables = append(tables, nmapTable{Key: "extensions", Tables: []nmapTable{{Elems: []nmapElem{
				{"name", "X509v3 Subject Alternative Name"}, {"value", strings.Join(names, ", ")},
			}}}})
		}
		script("ssl-cert", "Subject: "+t.Subject+"\nIssuer: "+t.Issuer+"\nSHA-256: "+t.SHA256,
			[]nmapElem{{"sha256", t.SHA256}}, tables...)
	}
	if s.Name == "" {
		return p, fmt.Errorf("nmap: record of %s port %d: %w", rec.Addr, rec.Port, ErrNotCarried)
	}
	p.Service = s
	return p, nil
}

func nmapDNTable(key, dn string) nmapTable {
	t := nmapTable{Key: key}
	for _, a := range parseDN(dn) {
		t.Elems = append(t.Elems, nmapElem{cmp.Or(opensslNames[a.key], a.key), nmapEscape(a.value)})
	}
	return t
}

// nmapEscape writes the bytes Nmap does not print as it does, \xHH: the
// controls, everything past ASCII, and the backslash (so that a literal
// "\x41" reads back as itself).
func nmapEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			fmt.Fprintf(&b, `\x%02X`, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
