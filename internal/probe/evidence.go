package probe

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"

	"github.com/nightjar-telescope/nightjar/internal/banner"
)

// pageEvidence fills h from the answer to GET /: its status, headers, the
// hash of the body read, its excerpt and title in UTF-8.
func pageEvidence(h *banner.HTTP, status int, header http.Header, body []byte) {
	h.Status = status
	h.Server = strings.Join(header.Values("Server"), ", ")
	h.WWWAuthenticate = strings.Join(header.Values("Www-Authenticate"), ", ")
	sum := sha256.Sum256(body)
	h.BodySHA256 = hex.EncodeToString(sum[:])
	text := toUTF8(body, header.Get("Content-Type"))
	h.Body = truncateUTF8(text, banner.MaxBody)
	h.Title = title(text)
}

// faviconEvidence fills h's favicon hashes from the icon's bytes.
func faviconEvidence(h *banner.HTTP, icon []byte) {
	sum := md5.Sum(icon)
	h.FaviconMD5 = hex.EncodeToString(sum[:])
	h.FaviconMMH3, h.HasFaviconMMH3 = faviconMMH3(icon), true
}

// toUTF8 decodes a page in the charset its Content-Type, BOM or <meta>
// declares (many devices' pages are Shift_JIS or GBK), replacing what is
// not valid.
func toUTF8(body []byte, contentType string) string {
	enc, name, _ := charset.DetermineEncoding(body, contentType)
	if name != "utf-8" {
		if b, err := enc.NewDecoder().Bytes(body); err == nil {
			body = b
		}
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}

// truncateUTF8 cuts valid UTF-8 s to at most n bytes, at a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// maxTitle bounds a title: a page whose <title> is never closed would
// otherwise make the rest of the page its title.
const maxTitle = 512

// title returns the text of the page's first <title>, entities decoded,
// white space collapsed; "" when there is none.
func title(page string) string {
	z := html.NewTokenizer(strings.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken:
			if name, _ := z.TagName(); string(name) != "title" {
				continue
			}
			var t bytes.Buffer
			for z.Next() == html.TextToken {
				t.Write(z.Text())
			}
			return truncateUTF8(strings.Join(strings.Fields(t.String()), " "), maxTitle)
		}
	}
}

// certEvidence is the leaf certificate as a banner records it.
func certEvidence(c *x509.Certificate) banner.TLS {
	sum := sha256.Sum256(c.Raw)
	t := banner.TLS{Subject: c.Subject.String(), Issuer: c.Issuer.String(), SHA256: hex.EncodeToString(sum[:])}
	t.SANs = append(t.SANs, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		t.SANs = append(t.SANs, ip.String())
	}
	t.SANs = append(t.SANs, c.EmailAddresses...)
	for _, u := range c.URIs {
		t.SANs = append(t.SANs, u.String())
	}
	return t
}
