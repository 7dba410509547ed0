package banner

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// masscan's JSON output (-oJ, with --banners; output-json.c): an array of
// one object a line with a comma after each, {"ip", "timestamp" (seconds,
// as a string), "ports": [{"port", "proto", "service": {"name",
// "banner"}}]}. masscan writes one banner a line: "http" (the raw
// response), "title", "http.server", "ssh", "telnet", "ftp", "X509" (the
// certificate, base64); a line of a port without a banner ("status":
// "open") gives no Record. Banners of one port on one line are merged.

type masscanLine struct {
	IP        string        `json:"ip"`
	Timestamp masscanTime   `json:"timestamp,omitempty"`
	Ports     []masscanPort `json:"ports"`
}

// masscanTime is seconds since the epoch, which masscan writes as a
// string.
type masscanTime int64

func (t *masscanTime) UnmarshalJSON(b []byte) error { return (*flexInt)(t).UnmarshalJSON(b) }

func (t masscanTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(t), 10) + `"`), nil
}

type masscanPort struct {
	Port    flexInt         `json:"port"`
	Proto   string          `json:"proto,omitempty"`
	Status  string          `json:"status,omitempty"`
	Service *masscanService `json:"service,omitempty"`
}

type masscanService struct {
	Name   string `json:"name"`
	Banner string `json:"banner"`
}

func decodeMasscan(v []byte, recs []Record) ([]Record, error) {
	var line masscanLine
	if err := unmarshalJSON(v, &line); err != nil {
		return recs, err
	}
	addr, err := parseAddr(line.IP)
	if err != nil {
		return recs, err
	}
	first := len(recs)
	for _, p := range line.Ports {
		port, err := p.Port.port()
		if err != nil {
			return recs[:first], err
		}
		transport, err := parseTransport(p.Proto)
		if err != nil {
			return recs[:first], err
		}
		if p.Service == nil {
			continue
		}
		rec := masscanRecord(recs[first:], port, transport)
		if rec == nil {
			recs = append(recs, Record{Addr: addr, Port: port, Transport: transport, Time: unixTime(int64(line.Timestamp)), Source: string(FormatMasscan)})
			rec = &recs[len(recs)-1]
		}
		if err := p.Service.fill(rec); err != nil {
			return recs[:first], fmt.Errorf("port %d %s: %w", port, p.Service.Name, err)
		}
	}
	// Drop the ports whose banners said nothing a Record keeps ("ssl"'s
	// cipher summary, "vnc", ...).
	kept := recs[:first]
	for _, r := range recs[first:] {
		if r.hasEvidence() {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

func masscanRecord(recs []Record, port uint16, t Transport) *Record {
	for i := range recs {
		if recs[i].Port == port && recs[i].Transport == t {
			return &recs[i]
		}
	}
	return nil
}

func (s *masscanService) fill(rec *Record) error {
	switch strings.ToLower(s.Name) {
	case "http":
		r := parseRawHTTP(s.Banner)
		if !r.hasHead {
			return fmt.Errorf("http banner does not start with a status line: %.30q", s.Banner)
		}
		rec.HTTP.Status = r.status
		rec.HTTP.Server = cleanText(r.server)
		rec.HTTP.WWWAuthenticate = cleanText(r.wwwAuthenticate)
		rec.HTTP.setBody(r.body, "")
	case "title":
		rec.HTTP.Title = cleanText(s.Banner)
	case "http.server":
		rec.HTTP.Server = cleanText(s.Banner)
	case "ssh":
		rec.SSH = greeting(firstLine(s.Banner))
	case "telnet":
		rec.Telnet = greeting(s.Banner)
	case "ftp":
		rec.FTP = greeting(s.Banner)
	case "x509":
		der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Banner))
		if err != nil || len(der) == 0 {
			return fmt.Errorf("X509 banner is not base64")
		}
		rec.TLS = certTLS(der)
	}
	return nil
}

// masscanValue is a Record as a masscan line: its http response (status,
// Server, WWW-Authenticate, body) and its title, or its ssh, telnet or ftp
// banner, as one port's banners. masscan keeps a certificate only as its
// DER, which a Record does not hold: TLS is not written, nor the
// favicon.
func masscanValue(rec *Record) (any, error) {
	line := masscanLine{IP: rec.Addr.String()}
	if !rec.Time.IsZero() {
		line.Timestamp = masscanTime(rec.Time.Unix())
	}
	add := func(name, banner string) {
		line.Ports = append(line.Ports, masscanPort{Port: flexInt(rec.Port), Proto: rec.Transport.String(), Service: &masscanService{name, banner}})
	}
	if rec.HTTP.Status != 0 || rec.HTTP.BodySHA256 != "" {
		add("http", rawHead(&rec.HTTP)+rec.HTTP.Body)
		if rec.HTTP.Title != "" && rec.HTTP.Title != htmlTitle(rec.HTTP.Body) {
			add("title", rec.HTTP.Title)
		}
	}
	for _, g := range []struct{ name, banner string }{{"ssh", rec.SSH}, {"telnet", rec.Telnet}, {"ftp", rec.FTP}} {
		if g.banner != "" {
			add(g.name, g.banner)
		}
	}
	if len(line.Ports) == 0 {
		return nil, fmt.Errorf("masscan: record of %s port %d: %w", rec.Addr, rec.Port, ErrNotCarried)
	}
	return line, nil
}
