package banner

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The pages of the testdata files (see testdata/README.md).
const (
	archerPage = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Archer AX3000</title>\n<script src=\"/webpages/js/su/su.js\"></script></head><body class=\"tp-link\">Archer AX3000 &amp; friends</body></html>"
	archerSHA  = "2545514c80e8c4f27cd63e483b5749f07864be9b9d471cd1d7820381b01ddaf1"
	atermPage  = "<html><head><META http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"><TITLE> ログイン &#8211; Aterm WX3000HP </TITLE></head><body>ようこそ</body></html>"
	atermSHA   = "8222668b7591d8d564d8e797ab89ffcd1aba8e3983429cdcd7c8edef26c1bdae"
	atermTitle = "ログイン – Aterm WX3000HP"

	// The certificate of the loopback TLS server Nmap scanned, which the
	// Shodan, Censys and masscan files carry too.
	loopbackCertSHA = "3b7929ef94c7055c1db8ec153be29f74ec8f0d62b1edd535208d04069203fec7"
	tplinkSubject   = `CN=tplinkwifi.net,O=TP-LINK Technologies CO.\, LTD.,L=Shenzhen,ST=Guangdong,C=CN`
	tplinkIssuer    = `CN=TP-LINK CA,O=TP-LINK Technologies CO.\, LTD.,L=Shenzhen,ST=Guangdong,C=CN`
)

// cmpRecords compares addresses (and times) by value.
var cmpRecords = cmpopts.EquateComparable(netip.Addr{})

var loopbackTLS = TLS{Subject: tplinkSubject, Issuer: tplinkSubject, SHA256: loopbackCertSHA, SANs: []string{"tplinkwifi.net", "192.168.0.1"}}

// readAll reads r to its end: the records, the lines skipped and the
// fatal error (nil at io.EOF).
func readAll(t testing.TB, r *Reader) ([]Record, []int, error) {
	t.Helper()
	var recs []Record
	var skipped []int
	for {
		var rec Record
		err := r.Next(&rec)
		var skip *SkipError
		switch {
		case errors.Is(err, io.EOF):
			return recs, skipped, nil
		case errors.As(err, &skip):
			skipped = append(skipped, skip.Line)
		case err != nil:
			return recs, skipped, err
		default:
			recs = append(recs, rec)
		}
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestReadFiles(t *testing.T) {
	t.Parallel()
	archer := HTTP{Status: 200, Title: "Archer AX3000", Server: "lighttpd/1.4.59", BodySHA256: archerSHA, Body: archerPage}
	censysHosts := []Record{
		{Addr: netip.MustParseAddr("198.51.100.7"), Port: 80, Time: at("2024-05-03T07:59:00.123Z"), Source: "censys", Product: "lighttpd 1.4.59",
			HTTP: HTTP{Status: 200, Title: "Archer AX3000", Server: "lighttpd/1.4.59", BodySHA256: archerSHA, Body: archerPage,
				FaviconMD5: "9e4bd1a6b5b3e8c4f0a2d6e8b1c3d5f7", FaviconMMH3: -1395466524, HasFaviconMMH3: true}},
		{Addr: netip.MustParseAddr("198.51.100.7"), Port: 443, Time: at("2024-05-03T07:59:05Z"), Source: "censys",
			TLS: TLS{Subject: tplinkSubject, Issuer: tplinkIssuer, SHA256: loopbackCertSHA, SANs: []string{"tplinkwifi.net", "192.168.0.1"}}},
		{Addr: netip.MustParseAddr("198.51.100.7"), Port: 22, Time: at("2024-05-03T07:59:10Z"), Source: "censys", SSH: "SSH-2.0-dropbear_2019.78"},
		{Addr: netip.MustParseAddr("198.51.100.8"), Port: 8080, Time: at("2024-05-03T08:00:30Z"), Source: "censys",
			HTTP: HTTP{Status: 200, Title: atermTitle, Server: "Aterm(HT)/1.0.0", WWWAuthenticate: `Digest realm="aterm"`, BodySHA256: atermSHA, Body: atermPage}},
		{Addr: netip.MustParseAddr("198.51.100.10"), Port: 23, Time: at("2024-05-03T08:02:00Z"), Source: "censys", Telnet: "BCM96338 ADSL Router\r\nLogin:"},
	}
	shodanBanners := []Record{
		{Addr: netip.MustParseAddr("192.0.2.36"), Port: 80, Time: at("2024-05-02T11:22:33.123456Z"), Source: "shodan", Product: "lighttpd 1.4.59",
			HTTP: HTTP{Status: 200, Title: "Archer AX3000", Server: "lighttpd/1.4.59", BodySHA256: archerSHA, Body: archerPage,
				FaviconMD5: "fcaba9a33f0e02f5b38c2c55c5a76784", FaviconMMH3: -1395466524, HasFaviconMMH3: true}},
		{Addr: netip.MustParseAddr("192.0.2.36"), Port: 443, Time: at("2024-05-02T11:22:40.000001Z"), Source: "shodan", TLS: loopbackTLS},
		{Addr: netip.MustParseAddr("2001:db8::25"), Port: 8080, Time: at("2024-05-02T11:23:00Z"), Source: "shodan",
			HTTP: HTTP{Status: 200, Title: atermTitle, Server: "Aterm(HT)/1.0.0", WWWAuthenticate: `Digest realm="aterm"`, BodySHA256: atermSHA, Body: atermPage}},
		{Addr: netip.MustParseAddr("192.0.2.39"), Port: 23, Time: at("2024-05-02T11:23:02Z"), Source: "shodan", Telnet: "TP-LINK Wireless Router WR841N\r\nlogin:"},
		{Addr: netip.MustParseAddr("192.0.2.40"), Port: 1900, Transport: UDP, Time: at("2024-05-02T11:23:03Z"), Source: "shodan", SSH: "SSH-2.0-OpenSSH_7.4"},
	}
	loopback := netip.MustParseAddr("127.0.0.1")
	nmapTime := time.Unix(1796155336, 0).UTC()
	lighttpd := HTTP{Title: "Archer AX3000", Server: "lighttpd/1.4.59"}
	tests := map[string]struct {
		path       string
		format     Format // "" detects
		wantFormat Format
		want       []Record
		wantSkips  []int
		wantLines  int
	}{
		"zgrab2": {
			path: "zgrab2.jsonl", wantFormat: FormatZgrab2, wantLines: 6,
			wantSkips: []int{3, 5}, // a truncated line; a line with a domain and no ip
			want: []Record{
				{Addr: netip.MustParseAddr("192.0.2.10"), Port: 8080, Time: at("2024-05-01T10:00:00Z"), Source: "zgrab2", HTTP: archer},
				{Addr: netip.MustParseAddr("192.0.2.10"), Port: 443, Time: at("2024-05-01T10:00:01Z"), Source: "zgrab2", TLS: TLS{
					Subject: tplinkSubject, Issuer: tplinkIssuer, SHA256: "6f0b5cdbd8a4c6e5d1c0b3a1f2e4d6c8b0a2c4e6f8a0b2c4d6e8f0a2b4c6d8e0",
					SANs: []string{"tplinkwifi.net", "192.168.0.1"}}},
				{Addr: netip.MustParseAddr("192.0.2.11"), Port: 80, Time: at("2024-05-01T10:00:02Z"), Source: "zgrab2", HTTP: HTTP{
					Status: 401, Server: "Boa/0.94.14rc21", WWWAuthenticate: `Basic realm="TP-LINK Wireless N Router WR841N"`,
					BodySHA256: "d08f7786fdde4f9fd896efdbc9146ca771b99dcf443aa1da615264603682c972", Body: "<html><body>401 Unauthorized</body></html>"}},
				{Addr: netip.MustParseAddr("192.0.2.13"), Port: 80, Time: at("2024-05-01T10:00:03Z"), Source: "zgrab2", HTTP: HTTP{
					Status: 200, Title: atermTitle, Server: "Aterm", BodySHA256: atermSHA, Body: atermPage}},
				{Addr: netip.MustParseAddr("192.0.2.14"), Port: 22, Time: at("2024-05-01T10:00:05Z"), Source: "zgrab2", SSH: "SSH-2.0-dropbear_2019.78"},
			},
		},
		"shodan": {
			path: "shodan.json", wantFormat: FormatShodan, wantLines: 7, want: shodanBanners,
			wantSkips: []int{3, 5}, // a truncated line; port 70000
		},
		"shodan gzip": {
			path: "shodan.json.gz", wantFormat: FormatShodan, wantLines: 7, want: shodanBanners, wantSkips: []int{3, 5},
		},
		"shodan gzip named": {
			path: "shodan.json.gz", format: FormatShodan, wantFormat: FormatShodan, wantLines: 7, want: shodanBanners, wantSkips: []int{3, 5},
		},
		"censys ndjson": {
			path: "censys.jsonl", wantFormat: FormatCensys, wantLines: 5, want: censysHosts,
			wantSkips: []int{3, 4}, // port "eighty"; a truncated line
		},
		"censys array": {
			path: "censys-array.json", wantFormat: FormatCensys, wantLines: 203, want: censysHosts,
		},
		"masscan": {
			path: "masscan.json", wantFormat: FormatMasscan, wantLines: 11,
			wantSkips: []int{6, 9}, // a missing brace; an empty ip
			want: []Record{
				{Addr: netip.MustParseAddr("203.0.113.5"), Port: 80, Time: at("2024-05-03T08:00:01Z"), Source: "masscan", HTTP: archer},
				{Addr: netip.MustParseAddr("203.0.113.5"), Port: 80, Time: at("2024-05-03T08:00:01Z"), Source: "masscan", HTTP: HTTP{Title: "Archer AX3000"}},
				{Addr: netip.MustParseAddr("203.0.113.5"), Port: 443, Time: at("2024-05-03T08:00:02Z"), Source: "masscan", TLS: loopbackTLS},
				{Addr: netip.MustParseAddr("203.0.113.7"), Port: 8080, Time: at("2024-05-03T08:00:04Z"), Source: "masscan", HTTP: HTTP{
					Status: 200, Title: atermTitle, Server: "Aterm", BodySHA256: atermSHA, Body: atermPage}},
				{Addr: netip.MustParseAddr("203.0.113.8"), Port: 22, Time: at("2024-05-03T08:00:05Z"), Source: "masscan", SSH: "SSH-2.0-dropbear_2019.78"},
				{Addr: netip.MustParseAddr("203.0.113.9"), Port: 23, Time: at("2024-05-03T08:00:07Z"), Source: "masscan", Telnet: "RT-N12 login:"},
			},
		},
		"nmap of loopback servers": {
			path: "nmap-loopback.xml", wantFormat: FormatNmap, wantLines: 1,
			want: []Record{
				{Addr: loopback, Port: 18022, Time: nmapTime, Source: "nmap", SSH: "SSH-2.0-dropbear_2019.78", Product: "Dropbear sshd 2019.78 (protocol 2.0)"},
				{Addr: loopback, Port: 18080, Time: nmapTime, Source: "nmap", HTTP: lighttpd, Product: "lighttpd 1.4.59"},
				{Addr: loopback, Port: 18081, Time: nmapTime, Source: "nmap", HTTP: HTTP{Title: "ログイン - AtermWX3000HP", Server: "lighttpd/1.4.59"}, Product: "lighttpd 1.4.59"},
				{Addr: loopback, Port: 18443, Time: nmapTime, Source: "nmap", HTTP: lighttpd, TLS: loopbackTLS, Product: "lighttpd 1.4.59"},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := Open("testdata/"+tt.path, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, skips, err := readAll(t, r)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if r.Format() != tt.wantFormat {
				t.Errorf("Format() = %q, want %q", r.Format(), tt.wantFormat)
			}
			if diff := cmp.Diff(got, tt.want, cmpRecords); diff != "" {
				t.Errorf("Next() records (-got, +want):\n%s", diff)
			}
			if diff := cmp.Diff(skips, tt.wantSkips); diff != "" {
				t.Errorf("Next() skipped lines (-got, +want):\n%s", diff)
			}
			if r.Lines() != tt.wantLines {
				t.Errorf("Lines() = %d, want %d", r.Lines(), tt.wantLines)
			}
		})
	}
}

func TestTruncatedGzipIsFatal(t *testing.T) {
	t.Parallel()
	whole, err := os.ReadFile("testdata/shodan.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	truncated := whole[:len(whole)*2/3]
	// Detection reads the first 64 KiB, all of this small file: the
	// truncation is met at once.
	if _, err := NewReader(bytes.NewReader(truncated), ""); err == nil || !strings.Contains(err.Error(), "gzip stream truncated") {
		t.Errorf("NewReader() of a truncated gzip: %v, want \"gzip stream truncated\"", err)
	}
	r, err := NewReader(bytes.NewReader(truncated), FormatShodan)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := readAll(t, r)
	var skip *SkipError
	if err == nil || errors.As(err, &skip) || !strings.Contains(err.Error(), "gzip stream truncated") {
		t.Fatalf("read of a truncated gzip: %v, want a fatal \"gzip stream truncated\"", err)
	}
	if len(recs) == 0 {
		t.Errorf("no record before the truncation")
	}
}

func TestUndetectable(t *testing.T) {
	t.Parallel()
	for name, input := range map[string]string{
		"empty":       "",
		"csv":         "ip,port\n192.0.2.1,80\n",
		"other json":  `{"host": "192.0.2.1", "open": [80]}` + "\n",
		"other xml":   `<?xml version="1.0"?><feed></feed>`,
		"gzip of csv": gzipped("ip,port\n"),
	} {
		_, err := NewReader(strings.NewReader(input), "")
		if err == nil || !strings.Contains(err.Error(), "cannot detect") {
			t.Errorf("%s: NewReader() error = %v, want \"cannot detect ...\"", name, err)
		}
	}
}

func gzipped(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for _, f := range Formats() {
		got, err := ParseFormat(strings.ToUpper(string(f)))
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", strings.ToUpper(string(f)), got, err)
		}
	}
	_, err := ParseFormat("zmap")
	if err == nil || !strings.Contains(err.Error(), "zgrab2, shodan, censys, nmap, masscan") {
		t.Errorf("ParseFormat(zmap) error = %v, want the list of formats", err)
	}
}

func TestLongLineSkipped(t *testing.T) {
	t.Parallel()
	long := `{"ip_str": "192.0.2.1", "port": 80, "data": "` + strings.Repeat("x", MaxLine) + `"}`
	ok := `{"ip_str": "192.0.2.2", "port": 22, "data": "SSH-2.0-x", "_shodan": {"module": "ssh"}}`
	r, err := NewReader(strings.NewReader(ok+"\n"+long+"\n"+ok+"\n"), FormatShodan)
	if err != nil {
		t.Fatal(err)
	}
	recs, skips, err := readAll(t, r)
	if err != nil || len(recs) != 2 || !cmp.Equal(skips, []int{2}) {
		t.Errorf("read = %d records, skips %v, %v; want 2 records, line 2 skipped", len(recs), skips, err)
	}
}

func TestTruncatedPrettyValueSkipped(t *testing.T) {
	t.Parallel()
	in := "[\n    {\n        \"ip\": \"198.51.100.1\",\n        \"services\": [\n"
	r, err := NewReader(strings.NewReader(in), FormatCensys)
	if err != nil {
		t.Fatal(err)
	}
	_, skips, err := readAll(t, r)
	if err != nil || !cmp.Equal(skips, []int{2}) {
		t.Errorf("read = skips %v, %v; want line 2 skipped", skips, err)
	}
}

func TestInterruptedNmapScan(t *testing.T) {
	t.Parallel()
	whole, err := os.ReadFile("testdata/nmap-loopback.xml")
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(whole, []byte("<runstats>"))
	r, err := NewReader(bytes.NewReader(whole[:cut]), "")
	if err != nil {
		t.Fatal(err)
	}
	recs, skips, err := readAll(t, r)
	if err != nil || len(recs) != 4 || len(skips) != 1 {
		t.Errorf("read = %d records, skips %v, %v; want the host's 4 records and one skip at the end", len(recs), skips, err)
	}
}
