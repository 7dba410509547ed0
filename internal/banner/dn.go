package banner

import (
	"slices"
	"strings"
)

// Distinguished names are written as recog writes them, RFC 4514 style:
// "CN=TP-LINK CA,O=TP-LINK Technologies CO.\, LTD.,L=Shenzhen,ST=Guangdong,C=CN".
// The formats disagree on order (Shodan and zgrab2 give maps, Nmap a
// table, zgrab2 and Censys also a string in the certificate's own order),
// so every importer writes the attributes in one fixed order, that of Go's
// pkix.Name.String: CN, OU, O, STREET, L, ST, C, then the others
// (emailAddress, ...) by name. It is the RFC 4514 order of the usual
// certificate, whose DER lists C, ST, L, O, OU, CN, and it makes one
// certificate read the same from every format. Several values of one
// attribute keep the file's order.

// dnAttr is one attribute of a distinguished name.
type dnAttr struct{ key, value string }

// dnKeys maps the attribute names the formats use to RFC 4514's short
// ones: zcrypto's (zgrab2, Censys), OpenSSL's long names (Nmap) and the
// short ones themselves (Shodan).
var dnKeys = map[string]string{
	"cn": "CN", "common_name": "CN", "commonname": "CN",
	"ou": "OU", "organizational_unit": "OU", "organizationalunitname": "OU",
	"o": "O", "organization": "O", "organizationname": "O",
	"street": "STREET", "street_address": "STREET", "streetaddress": "STREET",
	"l": "L", "locality": "L", "localityname": "L",
	"st": "ST", "s": "ST", "province": "ST", "stateorprovincename": "ST",
	"c": "C", "country": "C", "countryname": "C",
	"emailaddress": "emailAddress", "email_address": "emailAddress", "email": "emailAddress",
	"serialnumber": "SERIALNUMBER", "serial_number": "SERIALNUMBER",
	"postalcode": "POSTALCODE", "postal_code": "POSTALCODE",
	"dc": "DC", "domain_component": "DC",
}

var dnRank = map[string]int{"CN": 1, "OU": 2, "O": 3, "STREET": 4, "L": 5, "ST": 6, "C": 7}

func dnKey(name string) string {
	if k, ok := dnKeys[name]; ok { // the usual lower-case name: no copy
		return k
	}
	if k, ok := dnKeys[strings.ToLower(name)]; ok {
		return k
	}
	return name
}

// formatDN writes attrs in the fixed order, escaped as RFC 4514 asks.
func formatDN(attrs []dnAttr) string {
	for i := range attrs {
		attrs[i].key = dnKey(attrs[i].key)
	}
	slices.SortStableFunc(attrs, func(a, b dnAttr) int {
		ra, rb := dnRank[a.key], dnRank[b.key]
		switch {
		case ra == 0 && rb == 0:
			return strings.Compare(a.key, b.key)
		case ra == 0:
			return 1
		case rb == 0:
			return -1
		}
		return ra - rb
	})
	var b strings.Builder
	for _, a := range attrs {
		if a.value == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.key)
		b.WriteByte('=')
		escapeDNValue(&b, cleanText(a.value))
	}
	return b.String()
}

// escapeDNValue escapes what RFC 4514 §2.4 asks: ,+"\<>; anywhere, a
// leading space or #, a trailing space.
func escapeDNValue(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if strings.IndexByte(`,+"\<>;`, c) >= 0 || c == ' ' && (i == 0 || i == len(v)-1) || c == '#' && i == 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
}

// dnFromMap builds a DN from the attribute → values maps of zgrab2 and
// Censys.
func dnFromMap(m map[string][]string) string {
	var attrs []dnAttr
	for k, vs := range m {
		for _, v := range vs {
			attrs = append(attrs, dnAttr{k, v})
		}
	}
	// Map order is random: order the unranked keys, and values within a
	// key keep their slice's order (the sort is stable).
	slices.SortStableFunc(attrs, func(a, b dnAttr) int { return strings.Compare(dnKey(a.key), dnKey(b.key)) })
	return formatDN(attrs)
}

// certDN is the DN of a certificate's subject or issuer that zgrab2 and
// Censys give twice: from the attribute map, else from the DN string.
func certDN(m map[string][]string, s string) string {
	if dn := dnFromMap(m); dn != "" {
		return dn
	}
	return formatDN(parseDN(s))
}

// parseDN reads a DN string as zcrypto writes it ("C=CN, ST=Guangdong,
// O=TP-LINK Technologies CO., LTD., CN=TP-LINK CA": unescaped, ", "
// between attributes) or as RFC 4514 does (escaped, ","): a comma ends an
// attribute only when another "key=" follows it.
func parseDN(s string) []dnAttr {
	var attrs []dnAttr
	var value strings.Builder
	key := ""
	flush := func() {
		if key != "" {
			attrs = append(attrs, dnAttr{strings.TrimSpace(key), strings.TrimSpace(value.String())})
		}
		value.Reset()
	}
	rest := s
	if k, v, ok := strings.Cut(rest, "="); ok {
		key, rest = k, v
	} else {
		return nil
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '\\' && i+1 < len(rest):
			i++
			value.WriteByte(rest[i])
		case (c == ',' || c == ';' || c == '+') && nextIsKey(rest[i+1:]):
			flush()
			eq := strings.IndexByte(rest[i+1:], '=')
			key = rest[i+1 : i+1+eq]
			i += 1 + eq
		default:
			value.WriteByte(c)
		}
	}
	flush()
	return attrs
}

// nextIsKey reports whether s starts with an attribute name and "=".
func nextIsKey(s string) bool {
	s = strings.TrimLeft(s, " ")
	n := 0
	for n < len(s) && (s[n] >= 'A' && s[n] <= 'Z' || s[n] >= 'a' && s[n] <= 'z' || n > 0 && (s[n] >= '0' && s[n] <= '9' || s[n] == '.' || s[n] == '-' || s[n] == '_')) {
		n++
	}
	return n > 0 && n < len(s) && s[n] == '='
}

// zcryptoDN writes attrs as zcrypto's subject_dn does (for the writers):
// the certificate's order C … CN, ", " between, nothing escaped.
func zcryptoDN(dn string) string {
	attrs := parseDN(dn)
	slices.Reverse(attrs)
	parts := make([]string, len(attrs))
	for i, a := range attrs {
		parts[i] = a.key + "=" + a.value
	}
	return strings.Join(parts, ", ")
}
