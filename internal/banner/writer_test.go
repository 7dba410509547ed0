package banner

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// roundTripRecords are Records as the importers give them; each format
// keeps what it has a place for (carried).
var roundTripRecords = []struct {
	name string
	rec  Record
}{
	{"http page with favicon", Record{Addr: netip.MustParseAddr("192.0.2.1"), Port: 80, Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Product: "lighttpd 1.4.59",
		HTTP: HTTP{Status: 200, Title: "Archer AX3000", Server: "lighttpd/1.4.59", BodySHA256: archerSHA, Body: archerPage,
			FaviconMD5: "fcaba9a33f0e02f5b38c2c55c5a76784", FaviconMMH3: -1395466524, HasFaviconMMH3: true}}},
	{"same address, TLS only", Record{Addr: netip.MustParseAddr("192.0.2.1"), Port: 8443, Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		TLS: TLS{Subject: tplinkSubject, Issuer: tplinkIssuer, SHA256: loopbackCertSHA, SANs: []string{"tplinkwifi.net", "192.168.0.1"}}}},
	{"Japanese title, basic auth", Record{Addr: netip.MustParseAddr("2001:db8::7"), Port: 8080, Time: time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC),
		HTTP: HTTP{Status: 401, Title: atermTitle, Server: "Aterm(HT)/1.0.0", WWWAuthenticate: `Basic realm="ログイン"`, BodySHA256: atermSHA, Body: atermPage}}},
	{"https page", Record{Addr: netip.MustParseAddr("192.0.2.2"), Port: 443, Time: time.Date(2024, 5, 1, 10, 0, 2, 0, time.UTC),
		HTTP: HTTP{Status: 200, Title: "Archer AX3000", Server: "lighttpd/1.4.59", BodySHA256: archerSHA, Body: archerPage},
		TLS:  TLS{Subject: `CN=192.168.0.1,O=A\+B \"Ltd\"`, Issuer: "CN=TP-LINK CA", SHA256: loopbackCertSHA}}},
	{"ssh", Record{Addr: netip.MustParseAddr("192.0.2.3"), Port: 22, Time: time.Date(2024, 5, 1, 10, 0, 3, 0, time.UTC), SSH: "SSH-2.0-dropbear_2019.78"}},
	{"telnet on two lines", Record{Addr: netip.MustParseAddr("192.0.2.4"), Port: 23, Time: time.Date(2024, 5, 1, 10, 0, 4, 0, time.UTC), Telnet: "TP-LINK Wireless Router WR841N\r\nlogin:"}},
	{"ftp", Record{Addr: netip.MustParseAddr("192.0.2.5"), Port: 21, Time: time.Date(2024, 5, 1, 10, 0, 5, 0, time.UTC), FTP: `220 Welcome to \x41 FTP service.`}},
}

// carried is what format f keeps of rec.
func carried(f Format, rec Record) Record {
	rec.Source = string(f)
	switch f {
	case FormatZgrab2:
		rec.Product = ""
		rec.HTTP.FaviconMD5, rec.HTTP.FaviconMMH3, rec.HTTP.HasFaviconMMH3 = "", 0, false
	case FormatShodan:
		rec.HTTP.FaviconMD5 = ""
		rec.TLS.SANs = nil
	case FormatMasscan:
		rec.Product = ""
		rec.TLS = TLS{}
		rec.HTTP.FaviconMD5, rec.HTTP.FaviconMMH3, rec.HTTP.HasFaviconMMH3 = "", 0, false
	case FormatNmap:
		rec.HTTP = HTTP{Title: rec.HTTP.Title, Server: rec.HTTP.Server}
	}
	return rec
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w, err := NewWriter(&buf, f)
			if err != nil {
				t.Fatal(err)
			}
			var want []Record
			for _, tt := range roundTripRecords {
				err := w.Write(&tt.rec)
				if errors.Is(err, ErrNotCarried) {
					continue
				}
				if err != nil {
					t.Fatalf("Write(%s): %v", tt.name, err)
				}
				want = append(want, carried(f, tt.rec))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(bytes.NewReader(buf.Bytes()), "")
			if err != nil {
				t.Fatalf("NewReader() of the written file: %v\n%s", err, buf.String())
			}
			if r.Format() != f {
				t.Errorf("the written file is detected as %q", r.Format())
			}
			got, skips, err := readAll(t, r)
			if err != nil || len(skips) > 0 {
				t.Fatalf("read back: skips %v, %v\n%s", skips, err, buf.String())
			}
			if diff := cmp.Diff(got, want, cmpRecords); diff != "" {
				t.Errorf("read back (-got, +want):\n%s\n%s", diff, buf.String())
			}
		})
	}
}

func TestWriterRefusesWhatItCannotCarry(t *testing.T) {
	t.Parallel()
	tlsOnly := roundTripRecords[1].rec
	statusOnly := Record{Addr: netip.MustParseAddr("192.0.2.9"), Port: 80, HTTP: HTTP{Status: 204}}
	for f, rec := range map[Format]*Record{FormatMasscan: &tlsOnly, FormatNmap: &statusOnly, FormatZgrab2: {Addr: netip.MustParseAddr("192.0.2.9"), Port: 1}} {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, f)
		if err := w.Write(rec); !errors.Is(err, ErrNotCarried) {
			t.Errorf("%s: Write() = %v, want ErrNotCarried", f, err)
		}
	}
	if _, err := NewWriter(nil, "pcap"); err == nil {
		t.Error("NewWriter(pcap) succeeded")
	}
}
