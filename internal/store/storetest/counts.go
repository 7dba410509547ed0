package storetest

import (
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runCounts runs the conformance tests of SourceCounts and MiraiPorts.
func runCounts(t *testing.T, open Opener) {
	t.Run("source counts and mirai ports on a small month", func(t *testing.T) { testCountsSmall(t, open(t)) })
	t.Run("source counts and mirai ports of a simulated capture", func(t *testing.T) { testCountsTruth(t, open(t)) })
}

// testCountsSmall checks the counts of storeSmallMonth's July, worked out
// by hand: sources B (Mirai: 23/TCP at jp-1 and us-1, 2323/TCP), C (445/TCP,
// 23/TCP) and D (80/TCP); A sent in June only.
func testCountsSmall(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	storeSmallMonth(t, s)
	july, _ := period.Parse("2024-07")
	julyRaw := mustRange(t, "2024-07-01T00:05:00Z", "2024-08-01T00:05:00Z")
	tags := func(mirai uint64) map[string]uint64 {
		m := map[string]uint64{}
		for _, tag := range record.AllTags() {
			m[tag.String()] = 0
		}
		m["mirai"] = mirai
		return m
	}
	wantPorts := []store.MiraiPort{
		{Rank: 1, Port: "23/TCP", Packets: 7, Mirai: 6, MiraiShare: 6.0 / 7, Sources: 1},
		{Rank: 2, Port: "2323/TCP", Packets: 1, Mirai: 1, MiraiShare: 1, Sources: 1},
	}
	for _, p := range []period.Period{july, julyRaw} {
		got, err := s.SourceCounts(ctx, store.SourceCountsQuery{Period: p})
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(got, store.SourceCounts{Sources: 3, Tags: tags(1)}); diff != "" {
			t.Errorf("SourceCounts(%s) (-got, +want):\n%s", p, diff)
		}
		ports, err := s.MiraiPorts(ctx, store.MiraiPortsQuery{Period: p, N: 10})
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(ports, wantPorts); diff != "" {
			t.Errorf("MiraiPorts(%s) (-got, +want):\n%s", p, diff)
		}
	}
	// Top 1; a range that ends before B's us-1 packets (raw records).
	one, err := s.MiraiPorts(ctx, store.MiraiPortsQuery{Period: july, N: 1})
	if err != nil || len(one) != 1 || one[0].Port != "23/TCP" {
		t.Errorf("MiraiPorts(N=1) = %+v, %v; want 23/TCP only", one, err)
	}
	morning := mustRange(t, "2024-07-01T00:00:00Z", "2024-07-02T05:30:00Z")
	ports, err := s.MiraiPorts(ctx, store.MiraiPortsQuery{Period: morning, N: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(ports, []store.MiraiPort{{Rank: 1, Port: "23/TCP", Packets: 4, Mirai: 4, MiraiShare: 1, Sources: 1}}); diff != "" {
		t.Errorf("MiraiPorts(%s) (-got, +want):\n%s", morning, diff)
	}
	counts, err := s.SourceCounts(ctx, store.SourceCountsQuery{Period: morning})
	if err != nil || counts.Sources != 2 || counts.Tags["mirai"] != 1 {
		t.Errorf("SourceCounts(%s) = %+v, %v; want 2 sources, 1 mirai", morning, counts, err)
	}

	empty, _ := period.Parse("2020-02")
	counts, err = s.SourceCounts(ctx, store.SourceCountsQuery{Period: empty})
	if err != nil || counts.Sources != 0 || !gocmp.Equal(counts.Tags, tags(0)) {
		t.Errorf("SourceCounts(empty) = %+v, %v; want zeros for every tag", counts, err)
	}
	ports, err = s.MiraiPorts(ctx, store.MiraiPortsQuery{Period: empty, N: 10})
	if err != nil || ports == nil || len(ports) != 0 {
		t.Errorf("MiraiPorts(empty) = %#v, %v; want an empty list", ports, err)
	}
	if _, err := s.MiraiPorts(ctx, store.MiraiPortsQuery{Period: july}); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("MiraiPorts(N=0): error %v, want one saying N must be at least 1", err)
	}
}

// testCountsTruth stores a simulated capture across a month's end and
// checks the counts against the simulator's ground truth (distinct
// sources, per tag; Mirai packets; packets per port) and a count of the
// stored records (Mirai packets and sources per port), for the whole
// capture (rollups), widened by 30 minutes and for a range that starts and
// ends mid-day (raw records).
func testCountsTruth(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	cfg := simulate.DefaultConfig()
	cfg.Seed = 13
	cfg.Packets = 40_000
	cfg.Sources = 1_500
	cfg.Start = time.Date(2024, 7, 20, 0, 0, 0, 0, time.UTC)
	cfg.Duration = 20 * 24 * time.Hour
	cfg.Fleet = simulate.DefaultFleet()
	path, truth := simulateCapture(t, cfg)
	model := storeCapture(t, s, cfg.Fleet, path)

	whole, err := period.Range(cfg.Start, cfg.Start.Add(cfg.Duration))
	if err != nil {
		t.Fatal(err)
	}
	widened, _ := period.Range(whole.Start.Add(-30*time.Minute), whole.End.Add(30*time.Minute))
	midDay, _ := period.Range(cfg.Start.Add(36*time.Hour+17*time.Minute), cfg.Start.Add(10*24*time.Hour+5*time.Hour))

	// The truth: every source, and those with each tag.
	truthCounts := store.SourceCounts{Sources: uint64(len(truth.Sources)), Tags: map[string]uint64{}}
	for _, tag := range record.AllTags() {
		truthCounts.Tags[tag.String()] = 0
	}
	for _, src := range truth.Sources {
		for _, tag := range src.Tags {
			truthCounts.Tags[tag]++
		}
	}
	truthPorts := map[string]uint64{}
	for _, st := range truth.Sensors {
		for port, n := range st.Ports {
			truthPorts[port] += n
		}
	}

	for _, p := range []period.Period{whole, widened, midDay} {
		m := modelCounts(model, p)
		got, err := s.SourceCounts(ctx, store.SourceCountsQuery{Period: p})
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(got, m.counts); diff != "" {
			t.Errorf("SourceCounts(%s) (-store, +model):\n%s", p, diff)
		}
		ports, err := s.MiraiPorts(ctx, store.MiraiPortsQuery{Period: p, N: portcount.Slots})
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(ports, m.ports); diff != "" {
			t.Errorf("MiraiPorts(%s) (-store, +model):\n%s", p, diff)
		}
		if p == midDay {
			continue
		}
		if diff := gocmp.Diff(got, truthCounts); diff != "" {
			t.Errorf("SourceCounts(%s) (-store, +truth):\n%s", p, diff)
		}
		var mirai uint64
		for _, mp := range ports {
			mirai += mp.Mirai
			if mp.Packets != truthPorts[mp.Port] {
				t.Errorf("MiraiPorts(%s): %s has %d packets, truth %d", p, mp.Port, mp.Packets, truthPorts[mp.Port])
			}
		}
		if mirai != truth.Tags["mirai"] || mirai == 0 {
			t.Errorf("MiraiPorts(%s): %d mirai packets in all, truth %d", p, mirai, truth.Tags["mirai"])
		}
	}
	if len(modelCounts(model, whole).ports) < 2 {
		t.Error("the simulated capture has Mirai traffic to fewer than 2 ports: the test checks too little")
	}
}

// countsModel is what SourceCounts and MiraiPorts answer, counted from the
// stored records.
type countsModel struct {
	counts store.SourceCounts
	ports  []store.MiraiPort
}

func modelCounts(model []stored, p period.Period) countsModel {
	tagsOf := map[string]record.Tags{}
	for _, r := range model {
		if p.Contains(r.time) {
			tagsOf[r.src] |= r.tags
		}
	}
	out := countsModel{counts: store.SourceCounts{Sources: uint64(len(tagsOf)), Tags: map[string]uint64{}}, ports: []store.MiraiPort{}}
	for _, tag := range record.AllTags() {
		out.counts.Tags[tag.String()] = 0
	}
	for _, tags := range tagsOf {
		for _, name := range tags.Names() {
			out.counts.Tags[name]++
		}
	}
	packets, mirai := map[string]uint64{}, map[string]uint64{}
	sources := map[string]map[string]bool{}
	for _, r := range model {
		if !p.Contains(r.time) {
			continue
		}
		packets[r.port]++
		if r.tags.Has(record.TagMirai) {
			mirai[r.port]++
		}
		if tagsOf[r.src].Has(record.TagMirai) {
			if sources[r.port] == nil {
				sources[r.port] = map[string]bool{}
			}
			sources[r.port][r.src] = true
		}
	}
	for i, c := range rankCounts(mirai) {
		out.ports = append(out.ports, store.MiraiPort{Rank: i + 1, Port: c.Port, Packets: packets[c.Port], Mirai: c.Packets,
			MiraiShare: float64(c.Packets) / float64(packets[c.Port]), Sources: uint64(len(sources[c.Port]))})
	}
	return out
}
