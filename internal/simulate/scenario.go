package simulate

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
)

// The alert scenario's calendar.
const (
	// AlertScenarioWeeks is the length of AlertScenario's period: a quarter.
	AlertScenarioWeeks = 13
	// AlertScenarioBaselineWeeks are its first weeks, with no event, for
	// the detectors to learn the cycles of ordinary traffic.
	AlertScenarioBaselineWeeks = 4
	// alertScenarioQuietWeeks are the weeks after the baseline left with
	// no event too.
	alertScenarioQuietWeeks = 2
	// alertScenarioRepeats is how many events of each kind it injects.
	alertScenarioRepeats = 3
	// alertScenarioGuard separates two events that reach a sensor on the
	// same port (an outage: on any port), and an event from the end of its
	// week: time for a detector to settle.
	alertScenarioGuard = 12 * time.Hour
)

// scenarioKind is how AlertScenario draws the events of a kind: the ports
// to take them on (each used once, so that no two events of the scenario
// share a port), their durations and intensity.
type scenarioKind struct {
	ports          []uint16
	minDur         time.Duration
	maxDur         time.Duration
	rate           float64
	minSrc, maxSrc int
}

var scenarioKinds = map[EventKind]scenarioKind{
	// Ports no ordinary traffic uses (but a vertical scan's odd probe).
	EventPortCampaign: {ports: []uint16{9443, 4433, 10443, 18080, 7777, 8880, 3000, 8009}, minDur: 2 * time.Hour, maxDur: 12 * time.Hour, rate: 0.05, minSrc: 20, maxSrc: 80},
	// Ports with 0.4-1% of the ordinary traffic: 5% more is a surge of
	// five to ten times their rate.
	EventFleetSurge: {ports: []uint16{2222, 3306, 21, 8081, 1433, 5900}, minDur: time.Hour, maxDur: 6 * time.Hour, rate: 0.05, minSrc: 100, maxSrc: 300},
	// Ports Mirai's own scanner never probes (ADB, TR-069, cameras...).
	EventMiraiSpread:  {ports: []uint16{5555, 7547, 81, 60001, 9527, 49152}, minDur: 3 * 24 * time.Hour, maxDur: 5 * 24 * time.Hour, rate: 0.05, minSrc: 300, maxSrc: 800},
	EventSensorOutage: {minDur: time.Hour, maxDur: 8 * time.Hour},
	// The victims' services: web servers mostly.
	EventBackscatterBurst: {ports: []uint16{80, 443, 22, 25, 3389, 8080}, minDur: 30 * time.Minute, maxDur: 3 * time.Hour, rate: 0.2, minSrc: 1, maxSrc: 1},
	// Services the research scanners add to their surveys.
	EventResearchScan: {ports: []uint16{1883, 9100, 4444, 50000, 8545, 11211}, minDur: 3 * time.Hour, maxDur: 12 * time.Hour, rate: 0.03, minSrc: 1, maxSrc: 3},
}

// AlertScenario returns the configuration of a labelled quarter on which to
// measure alert detectors: AlertScenarioWeeks weeks from start of ordinary
// traffic with its daily and weekly cycles (the defaults, and a weekly
// factor of 1.3), of which the first AlertScenarioBaselineWeeks and two
// more, drawn from the seed, have no event; in the others, every event
// kind three times, at different sensors, ports and hours. No two events
// that reach a sensor on the same port (an outage: on any port; a
// backscatter-burst: on any backscatter) are under way within 12 hours of
// each other, and every event ends 12 hours before its week does. The
// truth (Truth.Events) lists the quiet weeks.
//
// It is a function of its arguments alone: the same start, fleet (nil
// means DefaultFleet()) and seed give the same configuration. Packets is
// 10 M (about 160 an hour at the default fleet's smallest sensor); event
// intensities are relative to each sensor's ordinary rate, so a smaller
// Packets gives the same scenario, more sparsely.
func AlertScenario(start time.Time, f *fleet.Fleet, seed uint64) (Config, error) {
	if f == nil {
		f = DefaultFleet()
	}
	cfg := DefaultConfig()
	cfg.Fleet, cfg.Seed = f, seed
	cfg.Start = start.UTC()
	cfg.Duration = AlertScenarioWeeks * week
	cfg.Packets = 10_000_000
	cfg.WeeklyFactor = 1.3
	if err := f.Validate(); err != nil {
		return cfg, fmt.Errorf("simulate: alert scenario: fleet: %w", err)
	}
	var sensors []string
	for i := range f.Sensors {
		if monitorsIPv4(&f.Sensors[i]) {
			sensors = append(sensors, f.Sensors[i].Name)
		}
	}
	if len(sensors) == 0 {
		return cfg, errors.New("simulate: alert scenario: the fleet monitors no IPv4 address")
	}
	r := newRNG(seed, 7)

	// The weeks with events: after the baseline, all but the quiet ones.
	var weeks []int
	for w := AlertScenarioBaselineWeeks; w < AlertScenarioWeeks; w++ {
		weeks = append(weeks, w)
	}
	shuffle(r, weeks)
	weeks = weeks[alertScenarioQuietWeeks:]

	// The events, kinds interleaved, dealt to the weeks in turn.
	var kinds []EventKind
	for range alertScenarioRepeats {
		kinds = append(kinds, EventKinds()...)
	}
	shuffle(r, kinds)
	byWeek := make(map[int][]Event, len(weeks))
	ports := map[EventKind][]uint16{}
	for k, sk := range scenarioKinds {
		ports[k] = append([]uint16(nil), sk.ports...)
	}
	for _, k := range EventKinds() { // in a fixed order: maps are not
		shuffle(r, ports[k])
	}
	oneSensor := append([]string(nil), sensors...)
	shuffle(r, oneSensor)
	next := 0
	for i, k := range kinds {
		sk := scenarioKinds[k]
		e := Event{Kind: k, Duration: sk.minDur + time.Duration(r.intn(int((sk.maxDur-sk.minDur)/time.Minute)+1))*time.Minute}
		if sk.ports != nil {
			e.Port, ports[k] = ports[k][0], ports[k][1:]
			e.Rate = sk.rate
			e.Sources = r.between(sk.minSrc, sk.maxSrc)
		}
		if eventDefaults[k].oneSensor {
			// the sensors in turn, so that each kind visits different ones
			e.Sensor = oneSensor[next%len(oneSensor)]
			next++
		}
		w := weeks[i%len(weeks)]
		byWeek[w] = append(byWeek[w], e)
	}

	// Each week's events placed at random hours, longest first, away
	// from the events they could be confused with.
	for _, w := range weeks {
		evs := byWeek[w]
		sortByDuration(evs)
		weekStart := cfg.Start.Add(time.Duration(w) * week)
		var placed []Event
		for _, e := range evs {
			span := week - e.Duration - alertScenarioGuard
			ok := false
			for range 1000 {
				e.Start = weekStart.Add(time.Duration(r.intn(int(span/time.Minute)+1)) * time.Minute)
				if !conflictsWithAny(&e, placed, sensors) {
					ok = true
					break
				}
			}
			if !ok {
				return cfg, fmt.Errorf("simulate: alert scenario: no room in week %d for a %s", w, e.Kind)
			}
			placed = append(placed, e)
		}
		cfg.Events = append(cfg.Events, placed...)
	}
	sortByStart(cfg.Events)
	return cfg, cfg.Validate()
}

// eventScope returns the (sensor, port key) pairs event e reaches, the key
// "*" for an outage (every port) and "backscatter" for a backscatter-burst.
func eventScope(e *Event, sensors []string) map[[2]string]bool {
	full := e.withDefaults()
	key := full.PortLabel()
	switch e.Kind {
	case EventSensorOutage:
		key = "*"
	case EventBackscatterBurst:
		key = "backscatter"
	}
	out := map[[2]string]bool{}
	if e.Sensor != "" {
		out[[2]string{e.Sensor, key}] = true
		return out
	}
	for _, s := range sensors {
		out[[2]string{s, key}] = true
	}
	return out
}

// conflictsWithAny reports whether e and one of placed reach a sensor on
// the same port (or one of them is an outage there) within
// alertScenarioGuard of each other.
func conflictsWithAny(e *Event, placed []Event, sensors []string) bool {
	se := eventScope(e, sensors)
	for i := range placed {
		p := &placed[i]
		if !e.Start.Before(p.End().Add(alertScenarioGuard)) || !p.Start.Before(e.End().Add(alertScenarioGuard)) {
			continue
		}
		for sk := range eventScope(p, sensors) {
			if se[sk] || se[[2]string{sk[0], "*"}] || sk[1] == "*" && sensorIn(se, sk[0]) {
				return true
			}
		}
	}
	return false
}

func sensorIn(scope map[[2]string]bool, sensor string) bool {
	for sk := range scope {
		if sk[0] == sensor {
			return true
		}
	}
	return false
}

// shuffle permutes s in place (Fisher-Yates) with r.
func shuffle[T any](r *rng, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

func sortByDuration(evs []Event) {
	slices.SortStableFunc(evs, func(a, b Event) int { return cmp.Compare(b.Duration, a.Duration) })
}

func sortByStart(evs []Event) {
	slices.SortStableFunc(evs, func(a, b Event) int { return a.Start.Compare(b.Start) })
}
