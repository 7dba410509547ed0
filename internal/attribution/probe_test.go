package attribution

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/probe"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// fakeDevices serves, on one HTTP port and one HTTPS port of several
// loopback addresses, what a TP-Link router, a MikroTik, a Hikvision camera
// and a TP-Link with only its certificate show, and a host that never
// answers; it returns the ports.
func fakeDevices(t *testing.T) (httpPort, httpsPort int) {
	t.Helper()
	pages := map[string]http.HandlerFunc{
		"127.0.0.2": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `<html><head><title>Archer AX50</title></head><body><script>var firmwareVersion = "1.0.11 Build 20200915 rel.67051";</script></body></html>`)
		},
		"127.0.0.3": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `<html><head><title>RouterOS router configuration page</title></head><body><h1>RouterOS v6.48.6</h1></body></html>`)
		},
		"127.0.0.4": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Server", "Hikvision-Webs")
			w.Header().Set("WWW-Authenticate", `Digest realm="IP Camera", qop="auth"`)
			w.WriteHeader(http.StatusUnauthorized)
		},
		"127.0.0.6": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `<html><head><title>Opening...</title></head></html>`)
		},
	}
	listen := func(addr string, port int) net.Listener {
		l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
		if err != nil {
			t.Skipf("listen on %s:%d: %v (loopback addresses beyond 127.0.0.1 are needed)", addr, port, err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	serve := func(l net.Listener, h http.Handler, cfg *tls.Config) {
		srv := &http.Server{Handler: h, TLSConfig: cfg, ReadHeaderTimeout: time.Second}
		t.Cleanup(func() { srv.Close() })
		if cfg != nil {
			go srv.ServeTLS(l, "", "")
		} else {
			go srv.Serve(l)
		}
	}
	first := listen("127.0.0.2", 0)
	httpPort = first.Addr().(*net.TCPAddr).Port
	firstTLS := listen("127.0.0.6", 0)
	httpsPort = firstTLS.Addr().(*net.TCPAddr).Port
	serve(first, pages["127.0.0.2"], nil)
	for _, a := range []string{"127.0.0.3", "127.0.0.4", "127.0.0.6"} {
		serve(listen(a, httpPort), pages[a], nil)
	}
	serve(firstTLS, pages["127.0.0.6"], &tls.Config{Certificates: []tls.Certificate{testenv.SelfSigned(t, pkix.Name{CommonName: "Archer AX3000", Organization: []string{"TP-Link"}, Country: []string{"CN"}})}})
	// 127.0.0.5 accepts and says nothing.
	silent := listen("127.0.0.5", httpPort)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return httpPort, httpsPort
}

// TestProbeAttributesFakeDevices: the real prober, against fake devices on
// loopback, fetches what identifies each, and ProbeSources attributes
// them: the router by its page (with its firmware), the MikroTik, the
// camera by its Server header, the router whose model is only in its
// certificate; the silent host gets nothing.
func TestProbeAttributesFakeDevices(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	httpPort, httpsPort := fakeDevices(t)
	st := open(t)
	ids, err := st.PutSensors(ctx, []fleet.Sensor{{Name: "s1", Group: "g", Addresses: []string{"198.18.0.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"}
	var recs []record.Record
	var sensors []int32
	for _, src := range targets {
		recs = append(recs, record.Record{Time: at.UnixNano(), Src: record.MustParseAddr(src), Dst: record.MustParseAddr("198.18.0.1"), IPVersion: 4,
			Protocol: record.ProtoTCP, TTL: 50, IPLen: 40, HasTransport: true, SrcPort: 4000, DstPort: 23, TCPFlags: record.FlagSYN})
		sensors = append(sensors, ids[0])
	}
	if err := st.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := probe.DefaultConfig()
	cfg.Enabled, cfg.Contact = true, "https://telescope.example.org/probing"
	cfg.HTTPPorts, cfg.HTTPSPorts = []uint16{uint16(httpPort)}, []uint16{uint16(httpsPort)}
	cfg.Rate, cfg.Timeout = 100, 500*time.Millisecond
	pr, err := probe.New(nil, cfg, probe.Deps{Clock: func() time.Time { return at }, AllowNonGlobal: true})
	if err != nil {
		t.Fatal(err)
	}
	day, _ := period.Parse("2024-07-31")
	res, err := ProbeSources(ctx, st, pr, New(st, signatures(t), func() time.Time { return at }), day, 10)
	if err != nil {
		t.Fatal(err)
	}
	if res.Probe.Probed != 5 || res.Attribution.Attributed != 4 {
		t.Errorf("ProbeSources = %s; want 5 probed, 4 attributed", res)
	}
	type dev struct{ Vendor, Model, Kind, Firmware string }
	got := map[string]dev{}
	for _, a := range targets {
		if d, _, ok, err := st.SourceDevice(ctx, netipAddr(a)); err != nil {
			t.Fatal(err)
		} else if ok {
			got[a] = dev{d.Vendor, d.Model, d.Kind, d.Firmware}
		}
	}
	want := map[string]dev{
		"127.0.0.2": {"TP-Link", "Archer AX50", "router", "1.0.11 Build 20200915 rel.67051"},
		"127.0.0.3": {"MikroTik", "RouterOS", "router", "6.48.6"},
		"127.0.0.4": {"Hikvision", "IP camera", "camera", ""},
		"127.0.0.6": {"TP-Link", "Archer AX3000", "router", ""},
	}
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("probed devices (-got, +want):\n%s", diff)
	}
}

func netipAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
