package probe

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/banner"
)

// reply is a fake device's answer to one path.
type reply struct {
	status int
	header map[string]string
	body   string
	delay  time.Duration // before answering
}

// routes answers each path with its reply; another path gets a 404, or
// the "*" reply when there is one.
func routes(rs map[string]reply) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, ok := rs[r.URL.Path]
		if !ok {
			rep, ok = rs["*"]
		}
		if !ok {
			rep = reply{status: http.StatusNotFound, body: "not found"}
		}
		if rep.delay > 0 {
			select {
			case <-time.After(rep.delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		w.Write([]byte(rep.body)) //nolint:errcheck // the client may be gone
	})
}

// The pages of the fake devices, written after what such devices answer.
const (
	archerAX50Page = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Archer AX50</title></head><body><div id="main"></div>` +
		`<script>var modelName = "Archer AX50"; var firmwareVersion = "1.0.11 Build 20200915 rel.67051";</script></body></html>`
	routerOSPage   = `<html><head><title>RouterOS router configuration page</title></head><body><h1>RouterOS v6.48.6</h1></body></html>`
	hikvision401   = `<html><head><title>Document Error: Unauthorized</title></head><body><h2>Access Error: 401 -- Unauthorized</h2></body></html>`
	hikvisionRealm = `Digest qop="auth", realm="DS-2CD2142FWD-I", nonce="4e4449304d7a51304e6a41364e574e6d5a44466d"`
	slowPage       = `<html><head><title>Slow Router</title></head></html>`
	archerAX3000   = `<html><head><title>Archer AX3000</title></head><body><script src="./js/su.js"></script></body></html>`
	redirectPage   = `<html><body>moved</body></html>`
)

var (
	tplinkIcon = []byte("\x00\x00\x01\x00\x01\x00\x10\x10\x00\x00\x01\x00\x20\x00\x68\x04\x00\x00\x16\x00\x00\x00tp-link icon")
	archerIcon = []byte("\x00\x00\x01\x00\x01\x00\x20\x20\x00\x00\x01\x00\x20\x00archer ax3000 icon")
)

// fakeDevice is a device on the test network: what its HTTP port (hp) and
// its HTTPS port (sp) do (nil: closed, the connection refused), and the
// records a probe of it must give.
type fakeDevice struct {
	http, https         *behaviour
	wantHTTP, wantHTTPS *banner.Record // Addr, Port and Time filled in by the test
}

// fleet returns the fake devices by name, for a probe with the given
// timeout; the redirect points at elsewhere ("host:port"), which the
// probe must never contact.
func fleet(timeout time.Duration, elsewhere string, archerCert, nvrCert tls.Certificate) map[string]fakeDevice {
	html := map[string]string{"Content-Type": "text/html"}
	icon := map[string]string{"Content-Type": "image/x-icon"}
	return map[string]fakeDevice{
		"tp-link archer ax50": {
			http: &behaviour{handler: routes(map[string]reply{
				"/":            {status: 200, header: html, body: archerAX50Page},
				"/favicon.ico": {status: 200, header: icon, body: string(tplinkIcon)},
			})},
			wantHTTP: &banner.Record{HTTP: withIcon(page(200, "Archer AX50", "", "", archerAX50Page), tplinkIcon)},
		},
		"mikrotik": {
			http:     &behaviour{handler: routes(map[string]reply{"/": {status: 200, header: html, body: routerOSPage}})},
			wantHTTP: &banner.Record{HTTP: page(200, "RouterOS router configuration page", "", "", routerOSPage)},
		},
		"hikvision camera": {
			http: &behaviour{handler: routes(map[string]reply{
				"*": {status: 401, header: map[string]string{"Server": "Hikvision-Webs", "WWW-Authenticate": hikvisionRealm, "Content-Type": "text/html"}, body: hikvision401},
			})},
			wantHTTP: &banner.Record{HTTP: page(401, "Document Error: Unauthorized", "Hikvision-Webs", hikvisionRealm, hikvision401)},
		},
		"silent": {http: &behaviour{silent: true}},
		"slow within the timeout": {
			http:     &behaviour{handler: routes(map[string]reply{"/": {status: 200, header: html, body: slowPage, delay: timeout * 4 / 5}})},
			wantHTTP: &banner.Record{HTTP: page(200, "Slow Router", "", "", slowPage)},
		},
		"slow beyond the timeout": {
			http: &behaviour{handler: routes(map[string]reply{"/": {status: 200, header: html, body: slowPage, delay: 3 * timeout}})},
		},
		"redirect elsewhere": {
			http: &behaviour{handler: routes(map[string]reply{
				"/": {status: 302, header: map[string]string{"Location": "http://" + elsewhere + "/login.html", "Content-Type": "text/html"}, body: redirectPage},
			})},
			wantHTTP: &banner.Record{HTTP: page(302, "", "", "", redirectPage)},
		},
		"https archer ax3000": {
			https: &behaviour{cert: &archerCert, handler: routes(map[string]reply{
				"/":            {status: 200, header: html, body: archerAX3000},
				"/favicon.ico": {status: 200, header: icon, body: string(archerIcon)},
			})},
			wantHTTPS: &banner.Record{HTTP: withIcon(page(200, "Archer AX3000", "", "", archerAX3000), archerIcon), TLS: certOf(archerCert, "CN=Archer AX3000,O=TP-Link,C=CN", "tplinkwifi.net")},
		},
		"tls-only nvr": {
			https:     &behaviour{cert: &nvrCert, silent: true},
			wantHTTPS: &banner.Record{TLS: certOf(nvrCert, `CN=NVR-8CH,O=Acme Surveillance\, Inc.`)},
		},
	}
}

// The certificates of the HTTPS devices: their subjects name the model.
var (
	archerSubject = pkix.Name{CommonName: "Archer AX3000", Organization: []string{"TP-Link"}, Country: []string{"CN"}}
	nvrSubject    = pkix.Name{CommonName: "NVR-8CH", Organization: []string{"Acme Surveillance, Inc."}}
)

func page(status int, title, server, auth, body string) banner.HTTP {
	sum := sha256.Sum256([]byte(body))
	return banner.HTTP{Status: status, Title: title, Server: server, WWWAuthenticate: auth, BodySHA256: hex.EncodeToString(sum[:]), Body: body}
}

func withIcon(h banner.HTTP, icon []byte) banner.HTTP {
	sum := md5.Sum(icon)
	h.FaviconMD5 = hex.EncodeToString(sum[:])
	h.FaviconMMH3, h.HasFaviconMMH3 = faviconMMH3(icon), true
	return h
}

// certOf is the TLS evidence of a self-signed certificate whose subject
// (and so issuer) reads dn.
func certOf(c tls.Certificate, dn string, sans ...string) banner.TLS {
	sum := sha256.Sum256(c.Certificate[0])
	return banner.TLS{Subject: dn, Issuer: dn, SHA256: hex.EncodeToString(sum[:]), SANs: sans}
}
