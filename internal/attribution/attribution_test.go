package attribution

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/devices"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/probe"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
)

var at = time.Date(2024, 7, 31, 12, 0, 0, 0, time.UTC)

func open(t testing.TB) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(t.Context(), filepath.Join(t.TempDir(), "t.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func signatures(t testing.TB) *devices.Signatures {
	t.Helper()
	sig, err := devices.Load()
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func page(addr string, port uint16, title string) *banner.Record {
	return &banner.Record{Addr: netip.MustParseAddr(addr), Port: port, Time: at, Source: "zgrab2", HTTP: banner.HTTP{Status: 200, Title: title}}
}

func cert(addr string, cn string) *banner.Record {
	return &banner.Record{Addr: netip.MustParseAddr(addr), Port: 443, Time: at.Add(time.Hour), Source: "shodan",
		TLS: banner.TLS{Subject: "CN=" + cn + ",O=TP-Link,C=CN", Issuer: "CN=" + cn + ",O=TP-Link,C=CN", SHA256: "ab"}}
}

// device is what the tests compare of an attribution.
type device struct {
	Vendor, Model string
	Conflict      bool
	Evidence      int // rows
}

func deviceOf(t *testing.T, st store.Store, addr string) (device, bool) {
	t.Helper()
	d, _, ok, err := st.SourceDevice(t.Context(), netip.MustParseAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	return device{d.Vendor, d.Model, d.Conflict, d.Evidence}, ok
}

// TestAttributorAcrossBatches: evidence of one address in different
// batches, and in different imports, decides together; an import of the
// same banners again stores nothing new and changes nothing.
func TestAttributorAcrossBatches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t)
	sig := signatures(t)
	a := New(st, sig, func() time.Time { return at })
	a.batchSize = 2
	recs := []*banner.Record{
		page("192.0.2.1", 80, "Opening..."),  // generic: no match
		cert("192.0.2.1", "Archer AX3000"),   // the model only in the certificate
		page("192.0.2.2", 80, "Archer AX50"), // a model by its title
		page("192.0.2.3", 80, "RouterOS router configuration page"),
		page("192.0.2.4", 8080, "Archer AX50"),
		page("192.0.2.5", 80, "TP-Link Archer AX50 review"), // a page naming a vendor, no device
	}
	for _, r := range recs {
		if err := a.Add(ctx, r, "a.json"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Banners != 6 || s.Matched == 0 || s.Attributed != 4 || s.Conflicts != 0 {
		t.Errorf("Stats = %+v, want 6 banners, 4 addresses attributed", s)
	}
	// A second import: 192.0.2.4 shows a MikroTik too (a NAT'd
	// address), 192.0.2.2 its certificate.
	b := New(st, sig, func() time.Time { return at.Add(24 * time.Hour) })
	b.batchSize = 1
	for _, r := range []*banner.Record{page("192.0.2.4", 80, "RouterOS router configuration page"), cert("192.0.2.2", "Archer AX50"), page("192.0.2.2", 80, "Archer AX50")} {
		if err := b.Add(ctx, r, "b.json"); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Evidence == 0 || s.Conflicts != 1 {
		t.Errorf("second import: Stats = %+v, want new evidence and one conflict", s)
	}
	for addr, want := range map[string]device{
		"192.0.2.1": {"TP-Link", "Archer AX3000", false, 0},
		"192.0.2.3": {"MikroTik", "RouterOS", false, 0},
		"192.0.2.4": {"MikroTik", "RouterOS", true, 0},
	} {
		got, ok := deviceOf(t, st, addr)
		if !ok {
			t.Errorf("%s: no device, want %+v", addr, want)
			continue
		}
		if got.Evidence < 1 {
			t.Errorf("%s: %d evidence rows", addr, got.Evidence)
		}
		got.Evidence = 0 // rows per matching rule: the signatures' business
		if diff := gocmp.Diff(got, want); diff != "" {
			t.Errorf("%s device (-got, +want):\n%s", addr, diff)
		}
	}
	if got, _ := deviceOf(t, st, "192.0.2.2"); got.Model != "Archer AX50" || got.Evidence < 2 {
		t.Errorf("192.0.2.2: %+v, want the Archer AX50 from its page and its certificate", got)
	}
	if _, ok := deviceOf(t, st, "192.0.2.5"); ok {
		t.Error("192.0.2.5, a review page, has a device")
	}
	// The first import again: nothing new, nothing changed.
	c := New(st, sig, func() time.Time { return at.Add(48 * time.Hour) })
	for _, r := range recs {
		if err := c.Add(ctx, r, "a.json"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Evidence != 0 {
		t.Errorf("the same banners again stored %d evidence rows", s.Evidence)
	}
	if got, _ := deviceOf(t, st, "192.0.2.4"); !got.Conflict {
		t.Errorf("192.0.2.4 after the first import again: %+v, want its conflict kept", got)
	}
	if err := c.Add(ctx, &banner.Record{Port: 80}, "x"); err == nil {
		t.Error("a banner without an address: no error")
	}
}

// fakeProber answers every target with a TP-Link page, and says what it
// was asked.
type fakeProber struct{ asked []netip.Addr }

func (f *fakeProber) Run(_ context.Context, targets []netip.Addr, emit func(*banner.Record) error) (probe.Stats, error) {
	f.asked = append(f.asked, targets...)
	for _, a := range targets {
		if err := emit(&banner.Record{Addr: a, Port: 80, Time: at, Source: probe.Source, HTTP: banner.HTTP{Status: 200, Title: "Archer A6"}}); err != nil {
			return probe.Stats{}, err
		}
	}
	return probe.Stats{Targets: len(targets), Probed: len(targets), Requests: len(targets), Records: len(targets)}, nil
}

// TestProbeSources: the period's top sources are probed, but those on
// research-scanner lists; what they answer is attributed.
func TestProbeSources(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t)
	ids, err := st.PutSensors(ctx, []fleet.Sensor{{Name: "s1", Group: "g", Addresses: []string{"198.18.0.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	var recs []record.Record
	for i, src := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		for range 3 - i { // 203.0.113.1 sends the most
			r := record.Record{Time: at.UnixNano(), Src: record.MustParseAddr(src), Dst: record.MustParseAddr("198.18.0.1"), IPVersion: 4,
				Protocol: record.ProtoTCP, TTL: 50, IPLen: 40, HasTransport: true, SrcPort: 4000, DstPort: 23, TCPFlags: record.FlagSYN}
			if src == "203.0.113.2" {
				r.Origin.Scanner = record.Intern("research")
			}
			recs = append(recs, r)
		}
	}
	sensors := make([]int32, len(recs))
	for i := range sensors {
		sensors[i] = ids[0]
	}
	if err := st.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	day, _ := period.Parse("2024-07-31")
	pr := &fakeProber{}
	res, err := ProbeSources(ctx, st, pr, New(st, signatures(t), func() time.Time { return at }), day, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.3")}
	if diff := gocmp.Diff(pr.asked, want, gocmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("probed (-got, +want):\n%s", diff)
	}
	if res.Sources != 3 || res.Research != 1 || res.Attribution.Attributed != 2 {
		t.Errorf("ProbeSources = %+v, want 3 sources, 1 research, 2 attributed", res)
	}
	if got, ok := deviceOf(t, st, "203.0.113.3"); !ok || got.Model != "Archer A6" {
		t.Errorf("203.0.113.3: %+v, %v; want the Archer A6 it answered as", got, ok)
	}
}
