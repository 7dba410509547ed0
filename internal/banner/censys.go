package banner

import (
	"fmt"
	"strings"
)

// Censys Search v2's host (https://search.censys.io/api, "hosts/{ip}" and
// the BigQuery/CLI exports): {"ip", "last_updated_at", "services": [{"port",
// "transport_protocol", "service_name", "observed_at", "banner", "http":
// {"response": {"status_code", "headers", "body", "body_hashes",
// "html_title", "favicons"}}, "tls": {"certificates": {"leaf_data":
// {"subject_dn", "issuer_dn", "fingerprint", "names", "subject",
// "issuer"}}}, "ssh": {"endpoint_id": {"raw"}}}]}. One Record a service.

type censysHost struct {
	IP            string          `json:"ip"`
	LastUpdatedAt string          `json:"last_updated_at,omitempty"`
	Services      []censysService `json:"services"`
}

type censysService struct {
	Port              flexInt     `json:"port"`
	ServiceName       string      `json:"service_name,omitempty"`
	TransportProtocol string      `json:"transport_protocol,omitempty"`
	ObservedAt        string      `json:"observed_at,omitempty"`
	Banner            string      `json:"banner,omitempty"`
	Software          []censysSW  `json:"software,omitempty"`
	HTTP              *censysHTTP `json:"http,omitempty"`
	TLS               *censysTLS  `json:"tls,omitempty"`
	SSH               *censysSSH  `json:"ssh,omitempty"`
}

type censysSW struct {
	Vendor  string `json:"vendor,omitempty"`
	Product string `json:"product,omitempty"`
	Version string `json:"version,omitempty"`
}

type censysHTTP struct {
	Response *censysResponse `json:"response,omitempty"`
}

type censysResponse struct {
	StatusCode int `json:"status_code,omitempty"`
	// Headers: names with "_" for "-" ("Www_Authenticate"), each a list;
	// "_encoding" is an object.
	Headers    censysHeaders   `json:"headers"`
	Body       string          `json:"body,omitempty"`
	BodyHashes []string        `json:"body_hashes,omitempty"` // "sha256:<hex>", "sha1:<hex>"
	HTMLTitle  string          `json:"html_title,omitempty"`
	Favicons   []censysFavicon `json:"favicons,omitempty"`
}

type censysFavicon struct {
	Name       string   `json:"name,omitempty"`
	MD5Hash    string   `json:"md5_hash,omitempty"`
	ShodanHash *flexInt `json:"shodan_hash,omitempty"`
}

type censysTLS struct {
	Certificates *censysCerts `json:"certificates,omitempty"`
}

type censysCerts struct {
	LeafData *censysLeaf `json:"leaf_data,omitempty"`
}

type censysLeaf struct {
	Names       []string            `json:"names,omitempty"`
	SubjectDN   string              `json:"subject_dn,omitempty"`
	IssuerDN    string              `json:"issuer_dn,omitempty"`
	Fingerprint string              `json:"fingerprint,omitempty"`
	Subject     map[string][]string `json:"subject,omitempty"`
	Issuer      map[string][]string `json:"issuer,omitempty"`
}

type censysSSH struct {
	EndpointID struct {
		Raw string `json:"raw,omitempty"`
	} `json:"endpoint_id"`
}

func decodeCensys(v []byte, recs []Record) ([]Record, error) {
	var h censysHost
	if err := unmarshalJSON(v, &h); err != nil {
		return recs, err
	}
	addr, err := parseAddr(h.IP)
	if err != nil {
		return recs, err
	}
	hostTime, err := parseTime(h.LastUpdatedAt)
	if err != nil {
		return recs, err
	}
	for i := range h.Services {
		s := &h.Services[i]
		rec := Record{Addr: addr, Source: string(FormatCensys), Time: hostTime}
		if rec.Port, err = s.Port.port(); err != nil {
			return recs, fmt.Errorf("service %d: %w", i, err)
		}
		if rec.Transport, err = parseTransport(s.TransportProtocol); err != nil {
			return recs, fmt.Errorf("service %d: %w", i, err)
		}
		if s.ObservedAt != "" {
			if rec.Time, err = parseTime(s.ObservedAt); err != nil {
				return recs, fmt.Errorf("service %d: %w", i, err)
			}
		}
		if err := s.fill(&rec); err != nil {
			return recs, fmt.Errorf("service %d: %w", i, err)
		}
		if !rec.hasEvidence() {
			continue // a port Censys saw open but could not talk to
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

func (s *censysService) fill(rec *Record) error {
	if len(s.Software) > 0 {
		sw := s.Software[0]
		rec.Product = strings.TrimSpace(sw.Product + " " + sw.Version)
	}
	if s.HTTP != nil && s.HTTP.Response != nil {
		r := s.HTTP.Response
		rec.HTTP.Status = r.StatusCode
		rec.HTTP.Title = cleanText(r.HTMLTitle)
		rec.HTTP.Server = cleanText(r.Headers.server)
		rec.HTTP.WWWAuthenticate = cleanText(r.Headers.wwwAuthenticate)
		rec.HTTP.setBody(r.Body, censysSHA256(r.BodyHashes))
		if len(r.Favicons) > 0 {
			f := r.Favicons[0]
			rec.HTTP.FaviconMD5 = strings.ToLower(f.MD5Hash)
			if f.ShodanHash != nil {
				h, err := f.ShodanHash.mmh3()
				if err != nil {
					return err
				}
				rec.HTTP.FaviconMMH3, rec.HTTP.HasFaviconMMH3 = h, true
			}
		}
	}
	if s.TLS != nil && s.TLS.Certificates != nil && s.TLS.Certificates.LeafData != nil {
		l := s.TLS.Certificates.LeafData
		rec.TLS = TLS{
			Subject: certDN(l.Subject, l.SubjectDN),
			Issuer:  certDN(l.Issuer, l.IssuerDN),
			SHA256:  strings.ToLower(l.Fingerprint),
			SANs:    l.Names,
		}
		if rec.TLS.SHA256 == "" {
			rec.TLS = TLS{}
		}
	}
	switch name := strings.ToUpper(s.ServiceName); {
	case s.SSH != nil && s.SSH.EndpointID.Raw != "":
		rec.SSH = greeting(s.SSH.EndpointID.Raw)
	case name == "SSH":
		rec.SSH = greeting(firstLine(s.Banner))
	case name == "TELNET":
		rec.Telnet = greeting(s.Banner)
	case name == "FTP":
		rec.FTP = greeting(s.Banner)
	}
	return nil
}

func censysSHA256(hashes []string) string {
	for _, h := range hashes {
		if sum, ok := strings.CutPrefix(h, "sha256:"); ok {
			return sum
		}
	}
	return ""
}

// censysValue is a Record as a one-service Censys host.
func censysValue(rec *Record) (any, error) {
	s := censysService{
		Port:              flexInt(rec.Port),
		TransportProtocol: strings.ToUpper(rec.Transport.String()),
		ObservedAt:        jsonTime(rec.Time),
	}
	if rec.Product != "" {
		s.Software = []censysSW{{Product: rec.Product}}
	}
	switch {
	case rec.HTTP.Status != 0 || rec.HTTP.BodySHA256 != "":
		s.ServiceName = "HTTP"
		r := &censysResponse{StatusCode: rec.HTTP.Status, Body: rec.HTTP.Body, HTMLTitle: rec.HTTP.Title, Headers: censysHeaders{httpHeaders{server: rec.HTTP.Server, wwwAuthenticate: rec.HTTP.WWWAuthenticate}}}
		if rec.HTTP.BodySHA256 != "" {
			r.BodyHashes = []string{"sha256:" + rec.HTTP.BodySHA256}
		}
		if rec.HTTP.FaviconMD5 != "" || rec.HTTP.HasFaviconMMH3 {
			f := censysFavicon{MD5Hash: rec.HTTP.FaviconMD5}
			if rec.HTTP.HasFaviconMMH3 {
				h := flexInt(rec.HTTP.FaviconMMH3)
				f.ShodanHash = &h
			}
			r.Favicons = []censysFavicon{f}
		}
		s.HTTP = &censysHTTP{Response: r}
	case rec.SSH != "":
		s.ServiceName, s.Banner = "SSH", rec.SSH
		s.SSH = &censysSSH{}
		s.SSH.EndpointID.Raw = rec.SSH
	case rec.Telnet != "":
		s.ServiceName, s.Banner = "TELNET", rec.Telnet
	case rec.FTP != "":
		s.ServiceName, s.Banner = "FTP", rec.FTP
	case rec.TLS.SHA256 != "":
		s.ServiceName = "UNKNOWN"
	default:
		return nil, fmt.Errorf("censys: record of %s port %d: %w", rec.Addr, rec.Port, ErrNotCarried)
	}
	if rec.TLS.SHA256 != "" {
		s.TLS = &censysTLS{Certificates: &censysCerts{LeafData: &censysLeaf{
			Names:       rec.TLS.SANs,
			SubjectDN:   zcryptoDN(rec.TLS.Subject),
			IssuerDN:    zcryptoDN(rec.TLS.Issuer),
			Fingerprint: rec.TLS.SHA256,
			Subject:     dnMap(rec.TLS.Subject, zcryptoNames),
			Issuer:      dnMap(rec.TLS.Issuer, zcryptoNames),
		}}}
	}
	return censysHost{IP: rec.Addr.String(), Services: []censysService{s}}, nil
}
