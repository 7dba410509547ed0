package banner

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"net/netip"
	"time"
)

// certTLS reads a DER certificate (masscan's X509 banner, Nmap's and
// Shodan's PEM). A certificate Go cannot parse (device certificates are
// often odd) still gives its SHA-256.
func certTLS(der []byte) TLS {
	sum := sha256.Sum256(der)
	t := TLS{SHA256: hex.EncodeToString(sum[:])}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return t
	}
	t.Subject, t.Issuer = nameDN(c.Subject), nameDN(c.Issuer)
	t.SANs = append(t.SANs, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		t.SANs = append(t.SANs, ip.String())
	}
	return t
}

// pemTLS reads the first certificate of a PEM text; ok is false without
// one.
func pemTLS(text string) (TLS, bool) {
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE" {
		return TLS{}, false
	}
	return certTLS(block.Bytes), true
}

var oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// nameDN writes a parsed name in the package's DN order.
func nameDN(n pkix.Name) string {
	var attrs []dnAttr
	add := func(key string, vs []string) {
		for _, v := range vs {
			attrs = append(attrs, dnAttr{key, v})
		}
	}
	add("CN", []string{n.CommonName})
	add("OU", n.OrganizationalUnit)
	add("O", n.Organization)
	add("STREET", n.StreetAddress)
	add("L", n.Locality)
	add("ST", n.Province)
	add("C", n.Country)
	for _, atv := range n.Names {
		if s, ok := atv.Value.(string); ok && atv.Type.Equal(oidEmail) {
			attrs = append(attrs, dnAttr{"emailAddress", s})
		}
	}
	return formatDN(attrs)
}

// dnMap splits a DN into attribute → values under the names a format
// uses (names maps the short ones; others keep theirs).
func dnMap(dn string, names map[string]string) map[string][]string {
	attrs := parseDN(dn)
	if len(attrs) == 0 {
		return nil
	}
	m := make(map[string][]string, len(attrs))
	for _, a := range attrs {
		k := a.key
		if n, ok := names[k]; ok {
			k = n
		}
		m[k] = append(m[k], a.value)
	}
	return m
}

// zcryptoNames are zgrab2's and Censys's attribute names.
var zcryptoNames = map[string]string{
	"CN": "common_name", "OU": "organizational_unit", "O": "organization", "STREET": "street_address",
	"L": "locality", "ST": "province", "C": "country", "emailAddress": "email_address",
	"SERIALNUMBER": "serial_number", "POSTALCODE": "postal_code", "DC": "domain_component",
}

// opensslNames are Nmap's (OpenSSL's long names).
var opensslNames = map[string]string{
	"CN": "commonName", "OU": "organizationalUnitName", "O": "organizationName", "STREET": "streetAddress",
	"L": "localityName", "ST": "stateOrProvinceName", "C": "countryName", "emailAddress": "emailAddress",
	"SERIALNUMBER": "serialNumber", "POSTALCODE": "postalCode", "DC": "domainComponent",
}

// jsonTime writes a scan time as RFC 3339 ("" for the zero Time).
func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// isIP reports whether a SAN is an address rather than a name.
func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
