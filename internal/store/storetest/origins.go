package storetest

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runOrigins runs the conformance tests of the origin questions and of
// the source tags' evidence.
func runOrigins(t *testing.T, open Opener) {
	t.Run("origins equal a direct count", func(t *testing.T) { testOrigins(t, open(t)) })
	t.Run("source tags need evidence", func(t *testing.T) { testTagEvidence(t, open(t)) })
	t.Run("verdicts", func(t *testing.T) { testVerdicts(t, open(t)) })
	t.Run("events of networks", func(t *testing.T) { testEvents(t, open(t)) })
}

// testEvents: the events of an AS and a prefix equal the model's records
// counted by hour, source, sensor address and port.
func testEvents(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	model := storeOrigins(t, s)
	day, _ := period.Parse("2024-07-15")
	pfx := netip.MustParsePrefix("192.0.2.16/28")
	got, err := s.Events(ctx, store.EventsQuery{Period: day, ASNs: []uint32{64501}, Prefixes: []netip.Prefix{pfx, netip.MustParsePrefix("2001:db8:1::/64")}})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		hour     time.Time
		src, dst netip.Addr
		port     uint16
	}
	want := map[key]store.Event{}
	for _, m := range model {
		r := m.rec
		at := time.Unix(0, r.Time).UTC()
		if !day.Contains(at) || !(r.Origin.ASN == 64501 || pfx.Contains(r.Src.Netip()) || r.Src.Is6()) {
			continue
		}
		k := key{at.Truncate(time.Hour), r.Src.Netip(), r.Dst.Netip(), r.DstPort}
		e := want[k]
		e.Hour, e.Protocol, e.Src, e.Dst, e.DstPort, e.Sensor = k.hour, r.Protocol, k.src, k.dst, k.port, m.sensor
		e.Country, e.ASN, e.Tags = r.Origin.Country.String(), r.Origin.ASN, []string{}
		e.Packets++
		want[k] = e
	}
	if len(want) == 0 {
		t.Fatal("the model has no event of those networks: the test is wrong")
	}
	gotMap := map[key]store.Event{}
	for _, e := range got {
		gotMap[key{e.Hour, e.Src, e.Dst, e.DstPort}] = e
	}
	if len(gotMap) != len(got) {
		t.Errorf("Events returned %d events, %d distinct", len(got), len(gotMap))
	}
	if diff := gocmp.Diff(gotMap, want, gocmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("Events (-got, +want):\n%s", diff)
	}
	if _, err := s.Events(ctx, store.EventsQuery{Period: day}); err == nil {
		t.Error("Events without networks: no error")
	}
}

// testVerdicts: each rule of store.Judge on one source, and the verdict
// filter, over whole days and raw records.
func testVerdicts(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	var ps probes
	none := func(int, *record.Record) {}
	ps.add("192.0.2.1", 37215, 3, func(_ int, r *record.Record) { r.Origin.Scanner = record.Intern("censys") }) // a listed scanner probing an exploit port
	ps.add("192.0.2.2", 23, 4, func(_ int, r *record.Record) { r.Seq = r.Dst.Uint32() })                        // Mirai
	ps.add("192.0.2.3", 52869, 2, none)                                                                         // exploit port
	ps.add("192.0.2.3", 80, 3, none)
	ps.add("192.0.2.4", 80, 5, none) // nothing known
	ps.store(t, s)
	type judged struct{ Verdict, Reason string }
	want := map[string]judged{
		"192.0.2.1": {store.VerdictBenign, "on the research-scanner list censys"},
		"192.0.2.2": {store.VerdictMalicious, "Mirai fingerprint"},
		"192.0.2.3": {store.VerdictMalicious, "probed 52869/TCP (" + store.ExploitPorts[1].Exploit + ")"},
		"192.0.2.4": {store.VerdictUnknown, ""},
	}
	day, _ := period.Parse("2024-07-15")
	raw := mustRange(t, "2024-07-15T05:00:00Z", "2024-07-15T07:00:00Z")
	for _, p := range []period.Period{day, raw} {
		for _, verdict := range append([]string{""}, store.Verdicts...) {
			srcs, err := s.TopSources(ctx, store.TopSourcesQuery{Period: p, N: 10, Verdict: verdict})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]judged{}
			for _, src := range srcs {
				got[src.IP] = judged{src.Verdict, src.Reason}
			}
			wantHere := map[string]judged{}
			for ip, j := range want {
				if verdict == "" || j.Verdict == verdict {
					wantHere[ip] = j
				}
			}
			if diff := gocmp.Diff(got, wantHere); diff != "" {
				t.Errorf("TopSources(%s, verdict %q) (-got, +want):\n%s", p, verdict, diff)
			}
		}
	}
	if _, err := s.TopSources(ctx, store.TopSourcesQuery{Period: day, N: 10, Verdict: "evil"}); err == nil {
		t.Error("an unknown verdict: no error")
	}
}

// originModel is what testOrigins stored: each record with its sensor's
// name and group.
type originRecord struct {
	rec           record.Record
	sensor, group string
}

// storeOrigins stores three days (2024-07-14 to 16) of packets from 60
// sources to the three sensors. A source's origin is fixed per day; some
// sources move to another country and AS from one day to the next, some
// are in no database, some on scanner lists.
func storeOrigins(t *testing.T, s store.Store) []originRecord {
	t.Helper()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, threeSensors)
	if err != nil {
		t.Fatal(err)
	}
	dsts := []string{"198.18.1.1", "198.19.0.3", "198.18.2.7"}
	countries := []string{"JP", "US", "CN", "DE", ""}
	rng := rand.New(rand.NewPCG(12, 5))
	var model []originRecord
	var recs []record.Record
	var sensors []int32
	day0 := time.Date(2024, 7, 14, 0, 0, 0, 0, time.UTC)
	for src := range 60 {
		addr := fmt.Sprintf("192.0.2.%d", src+1)
		if src%10 == 9 {
			addr = fmt.Sprintf("2001:db8:1::%x", src)
		}
		for day := range 3 {
			k := src % 7
			if src%4 == 0 { // moves every day
				k = (src + day) % 7
			}
			o := record.Origin{Country: record.CountryOf(countries[k%len(countries)])}
			if k != 6 {
				o.ASN = uint32(64500 + k)
				o.Org = record.Intern(fmt.Sprintf("Org %d", k))
			}
			switch src % 6 {
			case 1:
				o.Scanner = record.Intern("censys")
			case 2:
				o.Scanner = record.Intern("censys,shodan")
			}
			for range rng.IntN(6) {
				sensor := rng.IntN(3)
				dst := dsts[sensor]
				if strings.Contains(addr, ":") { // IPv6 sources reach us-1's IPv6 prefix
					sensor, dst = 1, "2001:db8::7"
				}
				r := syn(addr, dst, []uint16{23, 80, 445, 8080}[rng.IntN(4)],
					day0.Add(time.Duration(day)*24*time.Hour+time.Duration(rng.IntN(86400))*time.Second))
				r.Origin = o
				recs, sensors = append(recs, r), append(sensors, ids[sensor])
				model = append(model, originRecord{r, threeSensors[sensor].Name, threeSensors[sensor].Group})
			}
		}
	}
	if err := s.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return model
}

func testOrigins(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	model := storeOrigins(t, s)
	day, _ := period.Parse("2024-07-15")
	raw := mustRange(t, "2024-07-15T00:30:00Z", "2024-07-16T12:00:00Z")
	for _, p := range []period.Period{day, raw} {
		for _, kind := range []store.OriginKind{store.ByCountry, store.ByAS, store.ByScanner} {
			for _, by := range []store.By{store.ByFleet, store.ByGroup, store.BySensor} {
				got, err := s.Origins(ctx, store.OriginsQuery{Period: p, Kind: kind, N: 3, By: by})
				if err != nil {
					t.Fatal(err)
				}
				want := wantOrigins(model, p, kind, by, 3)
				if diff := gocmp.Diff(got, want); diff != "" {
					t.Errorf("Origins(%s, %s, by %s) (-got, +want):\n%s", p, kind, by, diff)
				}
			}
		}
		jp, _ := store.ParseOriginFilter("jp", "", "", "")
		as, _ := store.ParseOriginFilter("", "AS64502", "", "")
		pfx, _ := store.ParseOriginFilter("", "", "192.0.2.16/28", "")
		v6, _ := store.ParseOriginFilter("", "", "2001:db8:1::/64", "")
		shodan, _ := store.ParseOriginFilter("", "", "", "shodan")
		listed, _ := store.ParseOriginFilter("", "", "", "*")
		both, _ := store.ParseOriginFilter("US", "64501", "192.0.2.0/24", "")
		for _, f := range []store.OriginFilter{jp, as, pfx, v6, shodan, listed, both} {
			srcs, err := s.TopSources(ctx, store.TopSourcesQuery{Period: p, N: 1000, Origin: f})
			if err != nil {
				t.Fatal(err)
			}
			type view struct {
				IP      string
				Packets uint64
				store.SourceOrigin
			}
			var gotSrc, wantSrc []view
			for _, src := range srcs {
				gotSrc = append(gotSrc, view{src.IP, src.Packets, src.SourceOrigin})
			}
			byIP := map[string]*view{}
			var lastSeen = map[string]int64{}
			for _, m := range model {
				if !p.Contains(time.Unix(0, m.rec.Time)) || !takes(f, m.rec) {
					continue
				}
				ip := m.rec.Src.String()
				v := byIP[ip]
				if v == nil {
					v = &view{IP: ip}
					byIP[ip] = v
				}
				v.Packets++
				if m.rec.Time >= lastSeen[ip] {
					lastSeen[ip] = m.rec.Time
					v.SourceOrigin = store.SourceOrigin{Country: m.rec.Origin.Country.String(), ASN: m.rec.Origin.ASN,
						Org: m.rec.Origin.Org.String(), Scanner: m.rec.Origin.Scanner.String()}
				}
			}
			for _, v := range byIP {
				wantSrc = append(wantSrc, *v)
			}
			slices.SortFunc(wantSrc, func(a, b view) int {
				if a.Packets != b.Packets {
					return int(b.Packets) - int(a.Packets)
				}
				return netip.MustParseAddr(a.IP).Compare(netip.MustParseAddr(b.IP))
			})
			if len(wantSrc) == 0 {
				t.Fatalf("%s: filter %+v takes no source of the model: the test is wrong", p, f)
			}
			if diff := gocmp.Diff(gotSrc, wantSrc); diff != "" {
				t.Errorf("TopSources(%s, %+v) (-got, +want):\n%s", p, f, diff)
			}
			ports, err := s.OriginPorts(ctx, store.OriginPortsQuery{Period: p, Origin: f, N: 10})
			if err != nil {
				t.Fatal(err)
			}
			perPort := map[string]map[record.Addr]bool{}
			for _, m := range model {
				if p.Contains(time.Unix(0, m.rec.Time)) && takes(f, m.rec) {
					label := m.rec.PortLabel()
					if perPort[label] == nil {
						perPort[label] = map[record.Addr]bool{}
					}
					perPort[label][m.rec.Src] = true
				}
			}
			var wantPorts []store.OriginPort
			for label, srcs := range perPort {
				wantPorts = append(wantPorts, store.OriginPort{Port: label, Sources: uint64(len(srcs))})
			}
			slices.SortFunc(wantPorts, func(a, b store.OriginPort) int {
				if a.Sources != b.Sources {
					return int(b.Sources) - int(a.Sources)
				}
				return strings.Compare(a.Port, b.Port)
			})
			for i := range wantPorts {
				wantPorts[i].Rank = i + 1
			}
			if diff := gocmp.Diff(ports, wantPorts); diff != "" {
				t.Errorf("OriginPorts(%s, %+v) (-got, +want):\n%s", p, f, diff)
			}
		}
	}
	if _, err := s.OriginPorts(ctx, store.OriginPortsQuery{Period: day, N: 10}); err == nil {
		t.Error("OriginPorts without an origin: no error")
	}
	if _, err := s.Origins(ctx, store.OriginsQuery{Period: day, Kind: store.ByAS, N: 3, By: store.BySensor, Sensors: []string{"nope"}}); err == nil {
		t.Error("Origins of an unknown sensor: no error")
	}
}

// takes reports whether f takes r's source (store.OriginFilter).
func takes(f store.OriginFilter, r record.Record) bool {
	o := r.Origin
	if f.Country != "" && o.Country.String() != f.Country || f.ASN != 0 && o.ASN != f.ASN {
		return false
	}
	if f.Prefix.IsValid() && !f.Prefix.Contains(r.Src.Netip()) {
		return false
	}
	labels := strings.Split(o.Scanner.String(), ",")
	switch f.Scanner {
	case "":
		return true
	case "*":
		return o.Scanner != 0
	}
	return slices.Contains(labels, f.Scanner)
}

// wantOrigins counts the model directly.
func wantOrigins(model []originRecord, p period.Period, kind store.OriginKind, by store.By, n int) store.Origins {
	type part struct{ sensor, group string }
	var parts []part
	switch by {
	case store.BySensor:
		for _, sen := range threeSensors {
			parts = append(parts, part{sensor: sen.Name, group: sen.Group})
		}
	case store.ByGroup:
		parts = []part{{group: "Japan"}, {group: "overseas"}}
	default:
		parts = []part{{}}
	}
	count := func(p period.Period, pt part) (map[store.OriginKey]store.OriginCount, store.OriginCount, map[uint32]string) {
		sources := map[store.OriginKey]map[record.Addr]bool{}
		all := map[record.Addr]bool{}
		out := map[store.OriginKey]store.OriginCount{}
		orgs := map[uint32]string{}
		var total store.OriginCount
		for _, m := range model {
			if !p.Contains(time.Unix(0, m.rec.Time)) || pt.sensor != "" && m.sensor != pt.sensor || pt.group != "" && m.group != pt.group {
				continue
			}
			k := store.OriginKey{Country: m.rec.Origin.Country.String()}
			switch kind {
			case store.ByAS:
				k = store.OriginKey{ASN: m.rec.Origin.ASN}
				orgs[k.ASN] = m.rec.Origin.Org.String()
			case store.ByScanner:
				k = store.OriginKey{Scanner: m.rec.Origin.Scanner.String()}
			}
			c := out[k]
			c.Packets++
			if sources[k] == nil {
				sources[k] = map[record.Addr]bool{}
			}
			if !sources[k][m.rec.Src] {
				sources[k][m.rec.Src] = true
				c.Sources++
			}
			out[k] = c
			total.Packets++
			all[m.rec.Src] = true
		}
		total.Sources = uint64(len(all))
		return out, total, orgs
	}
	ans := store.Origins{Kind: kind.String(), By: by.String()}
	for _, pt := range parts {
		cur, total, orgs := count(p, pt)
		prev, _, _ := count(p.Previous(), pt)
		ans.Tables = append(ans.Tables, store.OriginTable{Sensor: pt.sensor, Group: pt.group, Packets: total.Packets, Sources: total.Sources,
			Origins: store.RankOrigins(kind, cur, prev, n, orgs)})
	}
	return ans
}

// testTagEvidence: a source earns a tool's tag only when its packets
// show it strongly (fingerprint.SourceEvidence), whatever the question
// and the period: 200 packets with one zmap IP ID earn nothing, four zmap
// probes earn zmap, one Mirai probe earns mirai.
func testTagEvidence(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	var ps probes
	ps.add("192.0.2.10", 23, 200, func(i int, r *record.Record) {
		if i == 17 {
			r.IPID = fingerprint.ZMapIPID
		}
	})
	ps.add("192.0.2.11", 23, 4, func(_ int, r *record.Record) { r.IPID = fingerprint.ZMapIPID })
	ps.add("192.0.2.12", 23, 50, func(i int, r *record.Record) {
		if i == 0 {
			r.Seq = r.Dst.Uint32()
		}
	})
	ps.store(t, s)
	want := map[string][]string{"192.0.2.10": {}, "192.0.2.11": {"zmap"}, "192.0.2.12": {"mirai"}}
	day, _ := period.Parse("2024-07-15")
	raw := mustRange(t, "2024-07-15T05:00:00Z", "2024-07-15T07:00:00Z")
	for _, p := range []period.Period{day, raw} {
		srcs, err := s.TopSources(ctx, store.TopSourcesQuery{Period: p, N: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, src := range srcs {
			got[src.IP] = src.Tags
		}
		if diff := gocmp.Diff(got, want); diff != "" {
			t.Errorf("TopSources(%s) tags (-got, +want):\n%s", p, diff)
		}
		for ip, tags := range want {
			h, err := s.SourceHistory(ctx, store.SourceHistoryQuery{Period: p, IP: netip.MustParseAddr(ip)})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h.Tags, tags) || len(h.Days) != 1 || !slices.Equal(h.Days[0].Tags, tags) {
				t.Errorf("SourceHistory(%s, %s) tags %v, days %+v; want %v", p, ip, h.Tags, h.Days, tags)
			}
		}
		counts, err := s.SourceCounts(ctx, store.SourceCountsQuery{Period: p})
		if err != nil {
			t.Fatal(err)
		}
		if counts.Sources != 3 || counts.Tags["zmap"] != 1 || counts.Tags["mirai"] != 1 {
			t.Errorf("SourceCounts(%s) = %+v, want 3 sources, one zmap, one mirai", p, counts)
		}
		// Packet counts stay per packet: 5 zmap-marked packets.
		tc, err := s.TagCounts(ctx, store.TagCountsQuery{Period: p})
		if err != nil {
			t.Fatal(err)
		}
		if tc.Tags["zmap"] != 5 || tc.Tags["mirai"] != 1 {
			t.Errorf("TagCounts(%s) = %v, want 5 zmap and 1 mirai packets", p, tc.Tags)
		}
	}
}

// probes are SYNs from a few sources to jp-1, a second apart from
// 2024-07-15 06:00 UTC, each with its IP ID counting from 1000 unless
// marked otherwise.
type probes struct{ recs []record.Record }

// add adds n probes of src to port; mark changes the i-th before it is
// tagged.
func (ps *probes) add(src string, port uint16, n int, mark func(i int, r *record.Record)) {
	at := time.Date(2024, 7, 15, 6, 0, 0, 0, time.UTC)
	for i := range n {
		r := syn(src, "198.18.1.1", port, at.Add(time.Duration(len(ps.recs))*time.Second))
		r.IPID = uint32(1000 + i)
		mark(i, &r)
		r.Tags = fingerprint.Tag(&r)
		ps.recs = append(ps.recs, r)
	}
}

// store stores the probes in s (with twoSensors) and syncs.
func (ps *probes) store(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, ps.recs, slices.Repeat([]int32{ids[0]}, len(ps.recs))); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}
