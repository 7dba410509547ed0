// Package banner owns the evidence of what a source address runs: one
// Record per service a scan saw answering (an HTTP page, a TLS
// certificate, an SSH or Telnet greeting), read from the banner scans teams
// already have (zgrab2, Shodan, Censys, Nmap, masscan) or fetched by
// Nightjar's own probe. The devices package matches records against its
// signatures to name the device model behind an address.
package banner

import (
	"net/netip"
	"time"
)

// MaxBody is the most bytes of an HTTP body a Record keeps: enough for the
// title, the login form and the scripts that name a model, while a file of
// millions of banners stays bounded in memory.
const MaxBody = 4096

// Transport is the transport protocol of a service.
type Transport uint8

// Transports.
const (
	TCP Transport = iota
	UDP
)

// String returns "tcp" or "udp".
func (t Transport) String() string {
	if t == UDP {
		return "udp"
	}
	return "tcp"
}

// Record is one service of one address as a scan saw it. Fields the scan
// did not capture are empty; an empty field never matches a signature.
type Record struct {
	Addr      netip.Addr
	Port      uint16
	Transport Transport
	// Time is when the scan saw the service (the zero Time when the file
	// does not say).
	Time time.Time
	// Source names the evidence: the format it came from ("zgrab2",
	// "shodan", "censys", "nmap", "masscan", "probe"), so that an
	// attribution can say which banner gave it.
	Source string

	HTTP HTTP
	TLS  TLS
	// The greetings of other protocols, as the scan printed them.
	SSH, Telnet, FTP, UPnP string
	// Product is the scanner's own name of the software that answered
	// (Nmap -sV's "lighttpd 1.4.39", Shodan's product and version): kept
	// as evidence to show, not a field signatures read.
	Product string
}

// HTTP is the first page a service answered (Status 0: none).
type HTTP struct {
	Status int
	Title  string
	Server string
	// WWWAuthenticate is the header's value: `Basic realm="TP-LINK ..."`.
	WWWAuthenticate string
	// BodySHA256 is the hex SHA-256 of the whole body as the scan
	// recorded it; Body its first MaxBody bytes, valid UTF-8.
	BodySHA256 string
	Body       string
	// FaviconMD5 is the hex MD5 of /favicon.ico (what recog's favicons
	// match); FaviconMMH3 Shodan's MurmurHash3 of its base64, when
	// HasFaviconMMH3.
	FaviconMD5     string
	FaviconMMH3    int32
	HasFaviconMMH3 bool
}

// TLS is the leaf certificate a service presented (SHA256 "": none).
// Subject and Issuer are distinguished names written as recog writes them:
// "CN=TP-LINK CA,O=TP-LINK Technologies CO.\, LTD.,L=Shenzhen,ST=Guangdong,C=CN".
type TLS struct {
	Subject, Issuer string
	SHA256          string // hex, of the DER certificate
	SANs            []string
}

// Field names a part of a Record that a signature reads.
type Field uint8

// Fields.
const (
	HTTPTitle Field = iota + 1
	HTTPServer
	HTTPWWWAuthenticate
	HTTPBody
	HTTPBodySHA256
	FaviconMD5
	TLSSubject
	TLSIssuer
	TLSSAN
	SSH
	Telnet
	FTP
	UPnP
)

var fieldNames = [...]string{
	HTTPTitle:           "http.title",
	HTTPServer:          "http.server",
	HTTPWWWAuthenticate: "http.www_authenticate",
	HTTPBody:            "http.body",
	HTTPBodySHA256:      "http.body_sha256",
	FaviconMD5:          "http.favicon_md5",
	TLSSubject:          "tls.subject",
	TLSIssuer:           "tls.issuer",
	TLSSAN:              "tls.san",
	SSH:                 "ssh",
	Telnet:              "telnet",
	FTP:                 "ftp",
	UPnP:                "upnp",
}

// Fields lists every Field, in order.
func Fields() []Field {
	fs := make([]Field, 0, len(fieldNames)-1)
	for f := HTTPTitle; int(f) < len(fieldNames); f++ {
		fs = append(fs, f)
	}
	return fs
}

// String returns the field's name as signatures write it ("http.title").
func (f Field) String() string {
	if int(f) < len(fieldNames) && fieldNames[f] != "" {
		return fieldNames[f]
	}
	return "unknown"
}

// ParseField returns the Field of a name, false for an unknown one.
func ParseField(name string) (Field, bool) {
	for f, n := range fieldNames {
		if n != "" && n == name {
			return Field(f), true
		}
	}
	return 0, false
}

// Values calls fn with each non-empty value of field f in r (several for
// TLSSAN), stopping when fn returns false.
func (r *Record) Values(f Field, fn func(string) bool) {
	var v string
	switch f {
	case HTTPTitle:
		v = r.HTTP.Title
	case HTTPServer:
		v = r.HTTP.Server
	case HTTPWWWAuthenticate:
		v = r.HTTP.WWWAuthenticate
	case HTTPBody:
		v = r.HTTP.Body
	case HTTPBodySHA256:
		v = r.HTTP.BodySHA256
	case FaviconMD5:
		v = r.HTTP.FaviconMD5
	case TLSSubject:
		v = r.TLS.Subject
	case TLSIssuer:
		v = r.TLS.Issuer
	case TLSSAN:
		for _, s := range r.TLS.SANs {
			if s != "" && !fn(s) {
				return
			}
		}
		return
	case SSH:
		v = r.SSH
	case Telnet:
		v = r.Telnet
	case FTP:
		v = r.FTP
	case UPnP:
		v = r.UPnP
	}
	if v != "" {
		fn(v)
	}
}
