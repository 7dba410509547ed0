package simulate

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var scenarioStart = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)

func TestAlertScenarioDeterministic(t *testing.T) {
	t.Parallel()
	a, err := AlertScenario(scenarioStart, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := AlertScenario(scenarioStart, DefaultFleet(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.Events, b.Events); diff != "" {
		t.Errorf("AlertScenario() twice (-got, +want):\n%s", diff)
	}
	c, err := AlertScenario(scenarioStart, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(a.Events, c.Events) {
		t.Error("AlertScenario() seeds 1 and 2 gave the same events")
	}
}

// TestAlertScenarioLayout checks the promises of the layout for a few
// seeds: every kind three times, at different sensors and ports, the
// baseline and two more weeks without events, no two events confusable.
func TestAlertScenarioLayout(t *testing.T) {
	t.Parallel()
	for seed := range uint64(8) {
		cfg, err := AlertScenario(scenarioStart, nil, seed)
		if err != nil {
			t.Fatalf("AlertScenario(seed %d): %v", seed, err)
		}
		if cfg.WeeklyFactor == 1 || cfg.DiurnalFactor == 1 || cfg.Duration != AlertScenarioWeeks*7*24*time.Hour {
			t.Errorf("seed %d: weekly factor %v, diurnal %v, duration %s", seed, cfg.WeeklyFactor, cfg.DiurnalFactor, cfg.Duration)
		}
		byKind := map[EventKind][]Event{}
		eventWeeks := map[int]bool{}
		for _, e := range cfg.Events {
			byKind[e.Kind] = append(byKind[e.Kind], e)
			w := int(e.Start.Sub(cfg.Start) / (7 * 24 * time.Hour))
			if e.End().After(cfg.Start.Add(time.Duration(w+1)*7*24*time.Hour - 12*time.Hour)) {
				t.Errorf("seed %d: %s %s..%s ends less than 12 h before its week %d does", seed, e.Kind, e.Start, e.End(), w)
			}
			eventWeeks[w] = true
		}
		for _, k := range EventKinds() {
			evs := byKind[k]
			if len(evs) < 3 {
				t.Errorf("seed %d: %d events of kind %s, want 3", seed, len(evs), k)
			}
			seen := map[string]bool{}
			for _, e := range evs {
				where := fmt.Sprintf("port %d at %q", e.Port, e.Sensor)
				if seen[where] {
					t.Errorf("seed %d: two %s events at %s", seed, k, where)
				}
				seen[where] = true
			}
		}
		for w := range AlertScenarioBaselineWeeks {
			if eventWeeks[w] {
				t.Errorf("seed %d: an event in baseline week %d", seed, w)
			}
		}
		if n := AlertScenarioWeeks - AlertScenarioBaselineWeeks - len(eventWeeks); n != 2 {
			t.Errorf("seed %d: %d quiet weeks after the baseline, want 2", seed, n)
		}
		for i, a := range cfg.Events {
			for _, b := range cfg.Events[i+1:] {
				if confusable(a, b, cfg) {
					t.Errorf("seed %d: %s %s at %s..%s and %s %s at %s..%s overlap", seed, a.Kind, a.withDefaults().PortLabel(), a.Start, a.End(), b.Kind, b.withDefaults().PortLabel(), b.Start, b.End())
				}
			}
		}
	}
}

// confusable reports whether two events reach a sensor on the same port
// key (an outage: any) within 12 hours of each other; written apart from
// the scenario's own check.
func confusable(a, b Event, cfg Config) bool {
	if a.End().Add(12*time.Hour).Compare(b.Start) <= 0 || b.End().Add(12*time.Hour).Compare(a.Start) <= 0 {
		return false
	}
	sensorsOf := func(e Event) []string {
		if e.Sensor != "" {
			return []string{e.Sensor}
		}
		return allSensors()
	}
	shared := false
	for _, s := range sensorsOf(a) {
		shared = shared || slices.Contains(sensorsOf(b), s)
	}
	if !shared {
		return false
	}
	key := func(e Event) string {
		if e.Kind == EventBackscatterBurst {
			return "backscatter"
		}
		return e.withDefaults().PortLabel()
	}
	return a.Kind == EventSensorOutage || b.Kind == EventSensorOutage || key(a) == key(b)
}

// TestAlertScenarioRun runs the scenario (fewer packets): the truth marks
// the baseline and the two quiet weeks, and every kind writes packets.
func TestAlertScenarioRun(t *testing.T) {
	t.Parallel()
	cfg, err := AlertScenario(scenarioStart, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Packets = 1_000_000
	truth, err := Run(t.Context(), cfg, discard{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var quiet []int
	for _, w := range truth.Events.QuietWeeks {
		quiet = append(quiet, w.Index)
	}
	if len(quiet) != AlertScenarioBaselineWeeks+2 || !slices.Equal(quiet[:AlertScenarioBaselineWeeks], []int{0, 1, 2, 3}) {
		t.Errorf("quiet weeks %v, want 0-3 and two more", quiet)
	}
	written := map[EventKind]uint64{}
	for _, e := range truth.Events.Events {
		written[e.Kind] += e.Packets + e.Dropped
	}
	for _, k := range EventKinds() {
		if written[k] == 0 {
			t.Errorf("no packet written (or dropped) by the %s events", k)
		}
	}
}

type discard struct{}

func (discard) WritePacket(int64, []byte) error { return nil }
