package banner

import (
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// zgrab2's output (github.com/zmap/zgrab2, schemas/zgrab2.py and
// schemas/http.py): one target a line, {"ip", "domain", "data": {<module
// name>: {"status", "protocol", "timestamp", "result"}}}. The importer
// reads the modules that name a device: http (result.response, its
// request's tls_log), tls (result.handshake_log), ssh
// (result.server_id.raw), telnet and ftp (result.banner).

type zgrab2Line struct {
	IP     string                  `json:"ip,omitempty"`
	Domain string                  `json:"domain,omitempty"`
	Data   map[string]zgrab2Module `json:"data"`
}

type zgrab2Module struct {
	Status   string `json:"status"`
	Protocol string `json:"protocol"`
	// Port is written by zgrab2 releases since 2024; older ones say it only
	// in an HTTP request's URL, else the protocol's default port is meant.
	Port      flexInt       `json:"port,omitempty"`
	Timestamp string        `json:"timestamp,omitempty"`
	Result    *zgrab2Result `json:"result,omitempty"`
}

type zgrab2Result struct {
	Response     *zgrab2Response  `json:"response,omitempty"`
	HandshakeLog *zgrab2Handshake `json:"handshake_log,omitempty"`
	ServerID     *zgrab2ServerID  `json:"server_id,omitempty"`
	Banner       string           `json:"banner,omitempty"`
}

type zgrab2ServerID struct {
	Raw string `json:"raw"`
}

type zgrab2Response struct {
	StatusLine string `json:"status_line,omitempty"`
	StatusCode int    `json:"status_code,omitempty"`
	// Headers: known names lower-cased with "_" for "-", each a list of
	// values; unknown ones under "unknown" as [{key, value}].
	Headers    zgrab2Headers  `json:"headers"`
	Body       string         `json:"body,omitempty"`
	BodySHA256 string         `json:"body_sha256,omitempty"` // base64 of the digest (zschema Binary)
	Request    *zgrab2Request `json:"request,omitempty"`
}

type zgrab2Request struct {
	URL    *zgrab2URL    `json:"url,omitempty"`
	TLSLog *zgrab2TLSLog `json:"tls_log,omitempty"`
}

type zgrab2TLSLog struct {
	HandshakeLog *zgrab2Handshake `json:"handshake_log,omitempty"`
}

type zgrab2URL struct {
	Scheme string `json:"scheme,omitempty"`
	Host   string `json:"host,omitempty"`
	Path   string `json:"path,omitempty"`
}

type zgrab2Handshake struct {
	ServerCertificates *zgrab2ServerCerts `json:"server_certificates,omitempty"`
}

type zgrab2ServerCerts struct {
	Certificate zgrab2Cert `json:"certificate"`
}

type zgrab2Cert struct {
	Raw    string        `json:"raw,omitempty"` // base64 DER
	Parsed *zgrab2Parsed `json:"parsed,omitempty"`
}

type zgrab2Parsed struct {
	Subject           map[string][]string `json:"subject,omitempty"`
	SubjectDN         string              `json:"subject_dn,omitempty"`
	Issuer            map[string][]string `json:"issuer,omitempty"`
	IssuerDN          string              `json:"issuer_dn,omitempty"`
	FingerprintSHA256 string              `json:"fingerprint_sha256,omitempty"`
	Extensions        *zgrab2Extensions   `json:"extensions,omitempty"`
}

type zgrab2Extensions struct {
	SubjectAltName *zgrab2SAN `json:"subject_alt_name,omitempty"`
}

type zgrab2SAN struct {
	DNSNames    []string `json:"dns_names,omitempty"`
	IPAddresses []string `json:"ip_addresses,omitempty"`
}

// defaultPorts are the ports a module result without one was grabbed on.
var defaultPorts = map[string]uint16{"http": 80, "tls": 443, "https": 443, "ssh": 22, "telnet": 23, "ftp": 21}

func decodeZgrab2(v []byte, recs []Record) ([]Record, error) {
	var line zgrab2Line
	if err := unmarshalJSON(v, &line); err != nil {
		return recs, err
	}
	addr, err := parseAddr(line.IP)
	if err != nil {
		return recs, err
	}
	names := make([]string, 0, len(line.Data))
	for name := range line.Data {
		names = append(names, name)
	}
	slices.Sort(names) // one line's records in a stable order
	for _, name := range names {
		m := line.Data[name]
		if m.Result == nil {
			continue // the port did not answer
		}
		rec := Record{Addr: addr, Source: string(FormatZgrab2)}
		if rec.Time, err = parseTime(m.Timestamp); err != nil {
			return recs, fmt.Errorf("module %s: %w", name, err)
		}
		if rec.Port, err = m.port(name); err != nil {
			return recs, fmt.Errorf("module %s: %w", name, err)
		}
		if !m.Result.fill(&rec, cmp.Or(m.Protocol, name)) {
			continue
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

func (m *zgrab2Module) port(name string) (uint16, error) {
	if m.Port != 0 {
		return m.Port.port()
	}
	if resp := m.Result.Response; resp != nil && resp.Request != nil && resp.Request.URL != nil {
		u := resp.Request.URL
		if _, p, err := net.SplitHostPort(u.Host); err == nil {
			return parsePort(p)
		}
		if u.Scheme == "https" {
			return 443, nil
		}
		return 80, nil
	}
	if p, ok := defaultPorts[cmp.Or(m.Protocol, name)]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("no port (protocol %q has no default)", m.Protocol)
}

// fill copies the evidence of a module's result into rec, false when there
// is none.
func (r *zgrab2Result) fill(rec *Record, protocol string) bool {
	if resp := r.Response; resp != nil {
		rec.HTTP.Status = resp.StatusCode
		rec.HTTP.Server = cleanText(resp.Headers.server)
		rec.HTTP.WWWAuthenticate = cleanText(resp.Headers.wwwAuthenticate)
		rec.HTTP.setBody(resp.Body, zgrab2Digest(resp.BodySHA256))
		if resp.Request != nil && resp.Request.TLSLog != nil {
			rec.TLS = r.tls(resp.Request.TLSLog.HandshakeLog)
		}
	}
	if r.HandshakeLog != nil {
		rec.TLS = r.tls(r.HandshakeLog)
	}
	switch {
	case r.ServerID != nil:
		rec.SSH = greeting(r.ServerID.Raw)
	case protocol == "telnet":
		rec.Telnet = greeting(r.Banner)
	case protocol == "ftp":
		rec.FTP = greeting(r.Banner)
	}
	return rec.hasEvidence()
}

func (r *zgrab2Result) tls(h *zgrab2Handshake) TLS {
	if h == nil || h.ServerCertificates == nil {
		return TLS{}
	}
	c := h.ServerCertificates.Certificate
	var t TLS
	if der, err := base64.StdEncoding.DecodeString(c.Raw); err == nil && len(der) > 0 {
		t = certTLS(der)
	}
	if p := c.Parsed; p != nil {
		t.Subject = cmp.Or(certDN(p.Subject, p.SubjectDN), t.Subject)
		t.Issuer = cmp.Or(certDN(p.Issuer, p.IssuerDN), t.Issuer)
		t.SHA256 = cmp.Or(strings.ToLower(p.FingerprintSHA256), t.SHA256)
		if p.Extensions != nil && p.Extensions.SubjectAltName != nil {
			san := p.Extensions.SubjectAltName
			t.SANs = append(append([]string(nil), san.DNSNames...), san.IPAddresses...)
		}
	}
	if t.SHA256 == "" {
		return TLS{}
	}
	return t
}

// zgrab2Digest returns zgrab2's body_sha256 in hex: base64 in zgrab2's
// JSON, hex in some post-processed files.
func zgrab2Digest(s string) string {
	if len(s) == 64 {
		if _, err := hex.DecodeString(s); err == nil {
			return s
		}
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return hex.EncodeToString(b)
	}
	return ""
}

// zgrab2Value is a Record as a one-module zgrab2 line as a one-module zgrab2 line: "http" (with
// its request's tls_log when the Record has a certificate), "tls", "ssh",
// "telnet" or "ftp", and the module's port. What zgrab2 has no place for
// is dropped: the favicon, UDP.
func zgrab2Value(rec *Record) (any, error) {
	m := zgrab2Module{Status: "success", Port: flexInt(rec.Port), Timestamp: jsonTime(rec.Time), Result: &zgrab2Result{}}
	var name string
	var handshake *zgrab2Handshake
	if rec.TLS.SHA256 != "" {
		handshake = zgrab2HandshakeOf(&rec.TLS)
	}
	switch {
	case rec.HTTP.Status != 0 || rec.HTTP.BodySHA256 != "":
		name = "http"
		scheme := "http"
		resp := &zgrab2Response{
			StatusCode: rec.HTTP.Status,
			StatusLine: strconv.Itoa(rec.HTTP.Status),
			Headers:    zgrab2Headers{httpHeaders{server: rec.HTTP.Server, wwwAuthenticate: rec.HTTP.WWWAuthenticate}},
			Body:       rec.HTTP.Body,
			BodySHA256: zgrab2DigestOf(rec.HTTP.BodySHA256),
		}
		resp.Request = &zgrab2Request{}
		if handshake != nil {
			scheme = "https"
			resp.Request.TLSLog = &zgrab2TLSLog{HandshakeLog: handshake}
		}
		resp.Request.URL = &zgrab2URL{Scheme: scheme, Host: net.JoinHostPort(rec.Addr.String(), strconv.Itoa(int(rec.Port))), Path: "/"}
		m.Result.Response = resp
	case handshake != nil:
		name = "tls"
		m.Result.HandshakeLog = handshake
	case rec.SSH != "":
		name = "ssh"
		m.Result.ServerID = &zgrab2ServerID{Raw: rec.SSH}
	case rec.Telnet != "":
		name, m.Result.Banner = "telnet", rec.Telnet
	case rec.FTP != "":
		name, m.Result.Banner = "ftp", rec.FTP
	default:
		return nil, fmt.Errorf("zgrab2: record of %s port %d: %w", rec.Addr, rec.Port, ErrNotCarried)
	}
	m.Protocol = name
	return zgrab2Line{IP: rec.Addr.String(), Data: map[string]zgrab2Module{name: m}}, nil
}

func zgrab2HandshakeOf(t *TLS) *zgrab2Handshake {
	p := &zgrab2Parsed{
		Subject:           dnMap(t.Subject, zcryptoNames),
		SubjectDN:         zcryptoDN(t.Subject),
		Issuer:            dnMap(t.Issuer, zcryptoNames),
		IssuerDN:          zcryptoDN(t.Issuer),
		FingerprintSHA256: t.SHA256,
	}
	if len(t.SANs) > 0 {
		san := &zgrab2SAN{}
		for _, s := range t.SANs {
			if isIP(s) {
				san.IPAddresses = append(san.IPAddresses, s)
			} else {
				san.DNSNames = append(san.DNSNames, s)
			}
		}
		p.Extensions = &zgrab2Extensions{SubjectAltName: san}
	}
	return &zgrab2Handshake{ServerCertificates: &zgrab2ServerCerts{Certificate: zgrab2Cert{Parsed: p}}}
}

func zgrab2DigestOf(hexSum string) string {
	b, err := hex.DecodeString(hexSum)
	if err != nil || len(b) != 32 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}
