package analyze_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
)

// TestSimulatedTruth: for simulated captures, every count of the report
// equals the simulator's ground truth — per sensor, port, month and tag,
// per group, and per source (packets and tags).
func TestSimulatedTruth(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 42} {
		t.Run("seed", func(t *testing.T) {
			t.Parallel()
			cfg := simulate.DefaultConfig()
			cfg.Seed = seed
			cfg.Packets = 300_000
			cfg.Sources = 5_000
			cfg.Start = time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC)
			cfg.Duration = 80 * 24 * time.Hour // June to September
			cfg.Fleet = simulate.DefaultFleet()
			path := filepath.Join(t.TempDir(), "sim.pcap.zst")
			w, err := capfile.Create(path, uint32(decode.LinkEthernet))
			if err != nil {
				t.Fatal(err)
			}
			truth, err := simulate.Run(t.Context(), cfg, w, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			a := analyze.New(analyze.Config{Top: 1 << 20, Sources: 1 << 30}, cfg.Fleet)
			if err := a.ReadFile(t.Context(), path, nil); err != nil {
				t.Fatal(err)
			}
			rep := a.Report()
			compareTruth(t, rep, truth)
		})
	}
}

func compareTruth(t *testing.T, rep *analyze.Report, truth *simulate.Truth) {
	t.Helper()
	if rep.Packets != truth.Packets || rep.Frames != truth.Packets || rep.Unmatched != 0 || len(rep.Skipped) != 0 {
		t.Errorf("packets %d, frames %d, unmatched %d, skipped %v; want %d packets, all matched, none skipped",
			rep.Packets, rep.Frames, rep.Unmatched, rep.Skipped, truth.Packets)
	}
	if rep.Distinct != len(truth.Sources) {
		t.Errorf("distinct sources = %d, want %d", rep.Distinct, len(truth.Sources))
	}

	type sensorView struct {
		Group   string
		Packets uint64
		Ports   map[string]uint64
		Months  map[string]uint64
		Tags    map[string]uint64
	}
	got := map[string]sensorView{}
	for _, s := range rep.Sensors {
		v := sensorView{Group: s.Group, Packets: s.Packets, Ports: map[string]uint64{}, Months: map[string]uint64{}, Tags: map[string]uint64{}}
		for _, p := range s.TopPorts {
			v.Ports[p.Port] = p.Packets
		}
		for _, m := range s.Months {
			if m.Packets > 0 {
				v.Months[m.Month] = m.Packets
			}
		}
		for k, n := range s.Tags {
			if n > 0 {
				v.Tags[k] = n
			}
		}
		got[s.Name] = v
	}
	want := map[string]sensorView{}
	for name, s := range truth.Sensors {
		want[name] = sensorView{Group: s.Group, Packets: s.Packets, Ports: s.Ports, Months: s.Months, Tags: s.Tags}
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("sensors (-analyze, +truth):\n%s", diff)
	}

	for _, g := range rep.Groups {
		if tg := truth.Groups[g.Name]; g.Sensors != tg.Sensors || g.Packets != tg.Packets {
			t.Errorf("group %s: %d sensors, %d packets; truth %d, %d", g.Name, g.Sensors, g.Packets, tg.Sensors, tg.Packets)
		}
	}

	type sourceView struct {
		Packets uint64
		Tags    []string
		Sensors int
	}
	gotSources := map[string]sourceView{}
	for _, s := range rep.Sources {
		gotSources[s.IP] = sourceView{s.Packets, s.Tags, s.Sensors}
	}
	wantSources := map[string]sourceView{}
	for ip, s := range truth.Sources {
		wantSources[ip] = sourceView{s.Packets, s.Tags, s.Sensors}
	}
	if diff := cmp.Diff(gotSources, wantSources); diff != "" {
		t.Errorf("sources (-analyze, +truth):\n%s", diff)
	}
}
