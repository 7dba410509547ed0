package attribution

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
)

// serverBanners are what most of a real banner export holds: web and SSH
// servers that no device signature names.
var serverBanners = []banner.Record{
	{Port: 80, HTTP: banner.HTTP{Status: 200, Title: "Welcome to nginx!", Server: "nginx/1.18.0 (Ubuntu)", Body: "<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>"}},
	{Port: 80, HTTP: banner.HTTP{Status: 200, Title: "Apache2 Ubuntu Default Page: It works", Server: "Apache/2.4.41 (Ubuntu)", Body: "<html><head><title>Apache2 Ubuntu Default Page: It works</title></head></html>"}},
	{Port: 443, HTTP: banner.HTTP{Status: 301, Server: "cloudflare"}, TLS: banner.TLS{Subject: "CN=example.org", Issuer: "CN=R3,O=Let's Encrypt,C=US", SHA256: "4f", SANs: []string{"example.org", "www.example.org"}}},
	{Port: 22, SSH: "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6"},
	{Port: 8080, HTTP: banner.HTTP{Status: 404, Title: "404 Not Found", Server: "Microsoft-IIS/10.0"}},
}

// writeBannerFile writes n banner lines of format f: every deviceEvery-th
// one a simulated device's service (simulate.DeviceProfiles), the others
// servers', each at its own address.
func writeBannerFile(b *testing.B, f banner.Format, n, deviceEvery int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "banners."+string(f))
	file, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriter(file)
	w, err := banner.NewWriter(bw, f)
	if err != nil {
		b.Fatal(err)
	}
	var devices []banner.Record
	for _, p := range simulate.DeviceProfiles() {
		devices = append(devices, p.Services...)
	}
	seen := time.Date(2024, 7, 31, 0, 0, 0, 0, time.UTC)
	for i := range n {
		var r banner.Record
		if i%deviceEvery == 0 {
			r = devices[(i/deviceEvery)%len(devices)]
		} else {
			r = serverBanners[i%len(serverBanners)]
		}
		r.Addr = netip.AddrFrom4([4]byte{byte(1 + i>>24%200), byte(i >> 16), byte(i >> 8), byte(i)})
		r.Time, r.Source = seen.Add(time.Duration(i)*time.Second), string(f)
		if err := w.Write(&r); err != nil && !errors.Is(err, banner.ErrNotCarried) {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(bw.Flush(), file.Close()); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkImport is `nightjar devices import` without the command line:
// a banner file read, matched and stored, with the attribution of every
// address, into a new DuckDB store per run. lines/s is the figure of issue
// 13's target (100,000 lines per second).
func BenchmarkImport(b *testing.B) {
	const lines = 200_000
	for _, c := range []struct {
		name        string
		format      banner.Format
		deviceEvery int
	}{
		{"shodan/devices-1-in-10", banner.FormatShodan, 10},
		{"zgrab2/devices-1-in-10", banner.FormatZgrab2, 10},
		{"shodan/all-devices", banner.FormatShodan, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := writeBannerFile(b, c.format, lines, c.deviceEvery)
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			sig := signatures(b)
			b.SetBytes(info.Size())
			b.ReportAllocs()
			b.ResetTimer()
			read := 0
			for b.Loop() {
				b.StopTimer()
				st := open(b)
				b.StartTimer()
				a := New(st, sig, func() time.Time { return at })
				r, err := banner.Open(path, c.format)
				if err != nil {
					b.Fatal(err)
				}
				var rec banner.Record
				for {
					err := r.Next(&rec)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if err := a.Add(b.Context(), &rec, "bench"); err != nil {
						b.Fatal(err)
					}
				}
				if err := a.Flush(b.Context()); err != nil {
					b.Fatal(err)
				}
				read += r.Lines()
				r.Close()
				if a.Stats().Attributed == 0 {
					b.Fatal("nothing attributed")
				}
			}
			b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
