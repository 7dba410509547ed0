package banner

import (
	"bytes"
	"fmt"
	"strings"
)

// Format names a banner file's format.
type Format string

// Formats a Reader reads and a Writer writes.
const (
	// FormatZgrab2: zgrab2's JSON lines, one target a line, one module
	// result under data.<name> each (http, tls, ssh, telnet, ftp, ...).
	FormatZgrab2 Format = "zgrab2"
	// FormatShodan: Shodan banners, one JSON object a line (shodan
	// download / the streaming API), often gzip'd.
	FormatShodan Format = "shodan"
	// FormatCensys: Censys Search v2 hosts, one a line (NDJSON) or one JSON
	// array of hosts, each with its services[].
	FormatCensys Format = "censys"
	// FormatNmap: Nmap's XML output (-oX), with -sV and the http-title,
	// http-server-header, ssl-cert and banner scripts.
	FormatNmap Format = "nmap"
	// FormatMasscan: masscan's JSON output (-oJ) with --banners: an array
	// of one object a line, one banner of one port each.
	FormatMasscan Format = "masscan"
)

var formats = []Format{FormatZgrab2, FormatShodan, FormatCensys, FormatNmap, FormatMasscan}

// Formats lists every Format, in the order the CLI documents them.
func Formats() []Format { return append([]Format(nil), formats...) }

// ParseFormat returns the Format of a name ("zgrab2", "shodan", "censys",
// "nmap", "masscan"; case-insensitive).
func ParseFormat(s string) (Format, error) {
	for _, f := range formats {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown banner format %q (want one of %s)", s, formatList())
}

func formatList() string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// detectFormat names the format of a file from its first bytes: XML is
// Nmap's; a JSON file is told by the keys only its format has (Shodan's
// ip_str, Censys's services, masscan's ports, zgrab2's data), looked for
// in that order because a Shodan or Censys record may also carry "data"
// or "ports".
func detectFormat(head []byte) (Format, error) {
	trimmed := bytes.TrimLeft(head, " \t\r\n\ufeff") // a byte-order mark too
	if len(trimmed) == 0 {
		return "", fmt.Errorf("cannot detect the banner format of an empty file (name it: one of %s)", formatList())
	}
	if trimmed[0] == '<' {
		if bytes.Contains(head, []byte("<nmaprun")) {
			return FormatNmap, nil
		}
		return "", fmt.Errorf("cannot detect the banner format: XML but not Nmap's (no <nmaprun> in the first %d bytes)", len(head))
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		for _, k := range []struct {
			key string
			f   Format
		}{
			{"ip_str", FormatShodan},
			{"_shodan", FormatShodan},
			{"services", FormatCensys},
			{"ports", FormatMasscan},
			{"data", FormatZgrab2},
		} {
			if hasJSONKey(trimmed, k.key) {
				return k.f, nil
			}
		}
	}
	return "", fmt.Errorf("cannot detect the banner format from the first %d bytes (name it: one of %s)", min(len(head), detectBytes), formatList())
}

// hasJSONKey reports whether "key" followed by a colon occurs in b: a key,
// not a string value (a quote inside a JSON string is escaped).
func hasJSONKey(b []byte, key string) bool {
	needle := []byte(`"` + key + `"`)
	for {
		i := bytes.Index(b, needle)
		if i < 0 {
			return false
		}
		b = b[i+len(needle):]
		if rest := bytes.TrimLeft(b, " \t\r\n"); len(rest) > 0 && rest[0] == ':' {
			return true
		}
	}
}
