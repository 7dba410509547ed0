package probe

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// now is the injected clock's reading: records and log lines carry it.
var now = time.Date(2027, 4, 1, 9, 30, 0, 0, time.UTC)

func fixedClock() time.Time { return now }

const testContact = "https://nightjar.example/probe"

// addrCmp compares netip values, whose fields are unexported.
var addrCmp = gocmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// testConfig is an enabled configuration probing the given ports.
func testConfig(httpPorts, httpsPorts []uint16) Config {
	cfg := DefaultConfig()
	cfg.Enabled, cfg.Contact = true, testContact
	cfg.HTTPPorts, cfg.HTTPSPorts = httpPorts, httpsPorts
	return cfg
}

// testNet is where a fleet test's devices listen and how the prober
// reaches them.
type testNet struct {
	base        netip.Addr // the first device's address; the others follow
	hp, hp2, sp uint16     // the HTTP port, an HTTP port nobody listens on, the HTTPS port
	listen      func(t *testing.T, ap netip.AddrPort) net.Listener
	dial        func(ctx context.Context, network, address string) (net.Conn, error)
	timeout     time.Duration
	rate        float64
}

// testFleet probes the fake devices of fleet() on n and checks everything
// a probe run must do: the records, the requests each device saw, the
// headers, that the redirect's target and the excluded device saw no
// connection, that the prober dialled only its targets, the stats and the
// request log.
func testFleet(t *testing.T, n testNet) {
	archerCert := testenv.SelfSigned(t, archerSubject, "tplinkwifi.net")
	nvrCert := testenv.SelfSigned(t, nvrSubject)
	nth := func(i int) netip.Addr {
		a := n.base
		for range i {
			a = a.Next()
		}
		return a
	}
	elsewhere, excluded := nth(90), nth(91)
	devices := fleet(n.timeout, netip.AddrPortFrom(elsewhere, n.hp).String(), archerCert, nvrCert)
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range devices {
			if !yield(name) {
				return
			}
		}
	})
	type key struct{ device, scheme string }
	seenBy := map[key]*seen{}
	addrOf := map[string]netip.Addr{}
	var targets []netip.Addr
	for i, name := range names {
		d, addr := devices[name], nth(i)
		addrOf[name] = addr
		targets = append(targets, addr)
		for _, s := range []struct {
			scheme string
			port   uint16
			b      *behaviour
		}{{"http", n.hp, d.http}, {"https", n.sp, d.https}} {
			if s.b != nil {
				seenBy[key{name, s.scheme}] = &seen{}
				serve(t, n.listen(t, netip.AddrPortFrom(addr, s.port)), *s.b, seenBy[key{name, s.scheme}])
			}
		}
	}
	ok := behaviour{handler: routes(map[string]reply{"/": {status: 200, body: archerAX50Page}})}
	elsewhereSeen, excludedSeen := &seen{}, &seen{}
	serve(t, n.listen(t, netip.AddrPortFrom(elsewhere, n.hp)), ok, elsewhereSeen)
	serve(t, n.listen(t, netip.AddrPortFrom(excluded, n.hp)), ok, excludedSeen)
	targets = append(targets, excluded)

	cfg := testConfig([]uint16{n.hp, n.hp2}, []uint16{n.sp})
	cfg.Timeout, cfg.Rate = n.timeout, n.rate
	cfg.Exclude = []string{excluded.String()}
	cfg.RequestLog = filepath.Join(t.TempDir(), "requests.jsonl")
	dials := &dialLog{t: t, dial: n.dial, allowed: func(ap netip.AddrPort) bool {
		return slices.Contains(targets[:len(names)], ap.Addr()) && slices.Contains([]uint16{n.hp, n.hp2, n.sp}, ap.Port())
	}}
	var logged testenv.SyncBuffer
	p, err := New(slog.New(slog.NewTextHandler(&logged, nil)), cfg, Deps{Clock: fixedClock, Dial: dials.Dial, Version: "1.2.3", AllowNonGlobal: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []*banner.Record
	stats, err := p.Run(t.Context(), targets, func(r *banner.Record) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	var want []*banner.Record
	for _, name := range names {
		for _, w := range []struct {
			rec  *banner.Record
			port uint16
		}{{devices[name].wantHTTP, n.hp}, {devices[name].wantHTTPS, n.sp}} {
			if w.rec != nil {
				r := *w.rec
				r.Addr, r.Port, r.Transport, r.Time, r.Source = addrOf[name], w.port, banner.TCP, now, "probe"
				want = append(want, &r)
			}
		}
	}
	byService := func(a, b *banner.Record) int { return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Port, b.Port)) }
	slices.SortFunc(got, byService)
	slices.SortFunc(want, byService)
	if diff := gocmp.Diff(got, want, addrCmp); diff != "" {
		t.Errorf("Run() records (-got, +want):\n%s", diff)
	}

	// What each device saw: one GET of "/", then one of /favicon.ico if
	// it answered HTTP; nothing from a device that did not answer.
	ua := "Nightjar-probe/1.2.3 (+" + testContact + ")"
	type sawPaths struct {
		Accepts int
		Paths   []string
	}
	gotSaw, wantSaw := map[key]sawPaths{}, map[key]sawPaths{}
	for k, s := range seenBy {
		accepts, reqs := s.snapshot()
		var paths []string
		for _, r := range reqs {
			paths = append(paths, r.Path)
			wantHeader := http.Header{"User-Agent": {ua}, "Connection": {"close"}}
			if diff := gocmp.Diff(r.Header, wantHeader); diff != "" || r.Method != "GET" {
				t.Errorf("%s %s: %s request headers (-got, +want):\n%s", k.device, k.scheme, r.Method, diff)
			}
			port := map[string]uint16{"http": n.hp, "https": n.sp}[k.scheme]
			want := netip.AddrPortFrom(addrOf[k.device], port).String()
			if port == map[string]uint16{"http": 80, "https": 443}[k.scheme] {
				want = addrOf[k.device].String() // the default port is left out
			}
			if r.Host != want {
				t.Errorf("%s %s: Host %q, want %q", k.device, k.scheme, r.Host, want)
			}
		}
		gotSaw[k] = sawPaths{accepts, paths}
		d := devices[k.device]
		rec, b := d.wantHTTP, d.http
		if k.scheme == "https" {
			rec, b = d.wantHTTPS, d.https
		}
		switch {
		case rec != nil && rec.HTTP.Status != 0:
			wantSaw[k] = sawPaths{2, []string{"/", "/favicon.ico"}}
		case b.handler != nil && !b.silent: // answered too late
			wantSaw[k] = sawPaths{1, []string{"/"}}
		default:
			wantSaw[k] = sawPaths{1, nil}
		}
	}
	if diff := gocmp.Diff(gotSaw, wantSaw); diff != "" {
		t.Errorf("connections and paths each device saw (-got, +want):\n%s", diff)
	}
	for name, s := range map[string]*seen{"the redirect's target": elsewhereSeen, "the excluded device": excludedSeen} {
		if accepts, _ := s.snapshot(); accepts != 0 {
			t.Errorf("%s accepted %d connections, want 0", name, accepts)
		}
	}

	wantStats := Stats{Targets: 10, Excluded: 1, Probed: 9, Requests: 33, Records: 7,
		Outcomes: map[Outcome]int{OutcomeStatus: 12, OutcomeTimeout: 3, OutcomeRefused: 18}}
	if diff := gocmp.Diff(stats, wantStats); diff != "" {
		t.Errorf("Run() stats (-got, +want):\n%s", diff)
	}
	if got := len(dials.snapshot()); got != stats.Requests {
		t.Errorf("%d dials for %d requests", got, stats.Requests)
	}

	// The request log: a line per request and per skipped target.
	lines := readRequestLog(t, cfg.RequestLog)
	if len(lines) != stats.Requests+1 {
		t.Fatalf("request log has %d lines, want %d", len(lines), stats.Requests+1)
	}
	if n := strings.Count(logged.String(), "msg=\"probe request\""); n != len(lines) {
		t.Errorf("slog has %d request lines, the request log %d", n, len(lines))
	}
	type outcomeKey struct {
		Target netip.Addr
		Port   uint16
		Path   string
	}
	outcomes := map[outcomeKey]Request{}
	for _, l := range lines {
		if l.Time != now {
			t.Errorf("request log line at %v, want the injected clock's %v", l.Time, now)
		}
		outcomes[outcomeKey{l.Target, l.Port, l.Path}] = l
	}
	ignore := cmpopts.IgnoreFields(Request{}, "Time", "Seconds", "Bytes", "Error")
	for name, tc := range map[string]struct {
		k    outcomeKey
		want Request
	}{
		"silent":      {outcomeKey{addrOf["silent"], n.hp, "/"}, Request{Outcome: OutcomeTimeout}},
		"closed port": {outcomeKey{addrOf["mikrotik"], n.hp2, "/"}, Request{Outcome: OutcomeRefused}},
		"camera":      {outcomeKey{addrOf["hikvision camera"], n.hp, "/"}, Request{Outcome: OutcomeStatus, Status: 401}},
		"redirect": {outcomeKey{addrOf["redirect elsewhere"], n.hp, "/"}, Request{Outcome: OutcomeStatus, Status: 302,
			Location: "http://" + netip.AddrPortFrom(elsewhere, n.hp).String() + "/login.html"}},
		"favicon":  {outcomeKey{addrOf["https archer ax3000"], n.sp, "/favicon.ico"}, Request{Outcome: OutcomeStatus, Status: 200}},
		"tls only": {outcomeKey{addrOf["tls-only nvr"], n.sp, "/"}, Request{Outcome: OutcomeTimeout}},
		"excluded": {outcomeKey{excluded, 0, ""}, Request{Outcome: OutcomeExcluded, Reason: ReasonExcluded}},
	} {
		want := tc.want
		want.Target, want.Port, want.Path = tc.k.Target, tc.k.Port, tc.k.Path
		if want.Port != 0 {
			want.Scheme = map[uint16]string{n.hp: "http", n.hp2: "http", n.sp: "https"}[want.Port]
		}
		if diff := gocmp.Diff(outcomes[tc.k], want, addrCmp, ignore); diff != "" {
			t.Errorf("%s: request log line (-got, +want):\n%s", name, diff)
		}
	}
	if r := outcomes[outcomeKey{addrOf["tp-link archer ax50"], n.hp, "/"}]; r.Bytes <= int64(len(archerAX50Page)) {
		t.Errorf("request log: the Archer AX50's page came in %d bytes, want more than the page's %d", r.Bytes, len(archerAX50Page))
	}
	slow := outcomes[outcomeKey{addrOf["slow within the timeout"], n.hp, "/"}]
	if min := (n.timeout * 4 / 5).Seconds(); slow.Seconds < min || slow.Seconds >= n.timeout.Seconds() {
		t.Errorf("request log: the slow device's page took %v s, want %v s to the timeout", slow.Seconds, min)
	}
}

func readRequestLog(t *testing.T, path string) []Request {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rs []Request
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Request
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("request log line %q: %v", sc.Text(), err)
		}
		rs = append(rs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestFleetInMemory probes the fake devices over an in-memory network in
// a synctest bubble: the default 5 s timeout and the default rate pass in
// no time, and the slow devices answer exactly within or beyond it.
func TestFleetInMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		def := DefaultConfig()
		testFleet(t, testNet{
			base: netip.MustParseAddr("198.18.0.10"), hp: 80, hp2: 8080, sp: 443,
			listen:  func(_ *testing.T, ap netip.AddrPort) net.Listener { return pn.Listen(ap) },
			dial:    pn.Dial,
			timeout: def.Timeout, rate: def.Rate,
		})
	})
}

// TestFleetLoopback probes the fake devices over real TCP and TLS, each on
// its own loopback address.
func TestFleetLoopback(t *testing.T) {
	t.Parallel()
	base := netip.MustParseAddr("127.0.0.10")
	hp, sp, hp2 := freePort(t, base), freePort(t, base), freePort(t, base)
	testFleet(t, testNet{
		base: base, hp: hp, hp2: hp2, sp: sp,
		listen:  listenTCP,
		dial:    netDial,
		timeout: time.Second, rate: 100,
	})
}

// netDial is the system's dialler.
var netDial = (&net.Dialer{}).DialContext

// listenTCP listens on ap, a loopback or test-namespace address.
func listenTCP(t *testing.T, ap netip.AddrPort) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", ap.String())
	if err != nil {
		t.Fatalf("listen on %s: %v", ap, err)
	}
	return l
}

// freePort returns a port the kernel had free on a.
func freePort(t *testing.T, a netip.Addr) uint16 {
	t.Helper()
	l := listenTCP(t, netip.AddrPortFrom(a, 0))
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}
