package simulate

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
)

// EventKind names a kind of injected event: an unusual change the alert
// detectors must notice, written into the capture with its ground truth
// (EventsTruth).
type EventKind string

// The kinds of events.
const (
	// EventPortCampaign: a new scan campaign on a port at one sensor only
	// (Sensor): scanners with ordinary OS stacks, untagged.
	EventPortCampaign EventKind = "port-campaign"
	// EventFleetSurge: every sensor (or every sensor of Group) sees a surge
	// of untagged scanning on a port.
	EventFleetSurge EventKind = "fleet-surge"
	// EventMiraiSpread: Mirai bots (seq == destination: tagged mirai)
	// spreading to a new port, ramping up over the event from nothing and
	// one source to Rate and Sources at its end.
	EventMiraiSpread EventKind = "mirai-spread"
	// EventSensorOutage: a sensor (Sensor) receives nothing during the
	// event: every packet it would have captured is dropped from the
	// output, and counted in the truth.
	EventSensorOutage EventKind = "sensor-outage"
	// EventBackscatterBurst: one DoS victim's replies (SYN-ACK or RST from
	// its service Port, tagged backscatter) reach every sensor.
	EventBackscatterBurst EventKind = "backscatter-burst"
	// EventResearchScan: a research scanner (ZMap, tagged zmap, from an
	// address of ResearchNetworks(), which the research-scanner lists
	// label) scans a new port at every sensor.
	EventResearchScan EventKind = "research-scan"
)

// EventKinds returns every kind, in the order above.
func EventKinds() []EventKind {
	return []EventKind{EventPortCampaign, EventFleetSurge, EventMiraiSpread, EventSensorOutage, EventBackscatterBurst, EventResearchScan}
}

// kindDefaults are a kind's defaults and what it accepts.
type kindDefaults struct {
	oneSensor bool     // Sensor required (else Group optional)
	packets   bool     // sends packets (every kind but the outage)
	rate      float64  // default Rate
	sources   int      // default Sources
	protocols []string // accepted protocols, the first the default; nil: no port
	port      uint16   // default port (0: required)
}

var eventDefaults = map[EventKind]kindDefaults{
	EventPortCampaign:     {oneSensor: true, packets: true, rate: 0.05, sources: 50, protocols: []string{"tcp", "udp"}},
	EventFleetSurge:       {packets: true, rate: 0.1, sources: 200, protocols: []string{"tcp", "udp"}},
	EventMiraiSpread:      {packets: true, rate: 0.1, sources: 500, protocols: []string{"tcp"}},
	EventSensorOutage:     {oneSensor: true},
	EventBackscatterBurst: {packets: true, rate: 0.3, sources: 1, protocols: []string{"tcp"}, port: 80},
	EventResearchScan:     {packets: true, rate: 0.03, sources: 2, protocols: []string{"tcp", "udp"}},
}

// Event is one injected event. Its packets are extra: Config.Packets counts
// the ordinary traffic only, which the events leave as it is (the same
// packets, in the same order), apart from the packets an outage drops.
// Event packets interleave with it in time order.
type Event struct {
	// Kind is what happens (EventPortCampaign...). Required.
	Kind EventKind `yaml:"kind" json:"kind"`
	// Start is when it begins (UTC), within the capture's period.
	Start time.Time `yaml:"start" json:"start"`
	// Duration is how long it lasts; it must end within the period.
	Duration time.Duration `yaml:"duration" json:"duration"`
	// Sensor is the one sensor of a port-campaign or sensor-outage, by
	// name (required there, refused elsewhere).
	Sensor string `yaml:"sensor,omitempty" json:"sensor,omitempty"`
	// Group confines a fleet-wide kind to the sensors of one group.
	// Empty: every sensor of the fleet that monitors IPv4.
	Group string `yaml:"group,omitempty" json:"group,omitempty"`
	// Port is the destination port of the event's packets (required,
	// but for the backscatter-burst, where it is the victim's service
	// port, the source port of its replies, default 80; refused for the
	// outage).
	Port uint16 `yaml:"port,omitempty" json:"port,omitempty"`
	// Protocol is "tcp" (default) or "udp" (port-campaign, fleet-surge,
	// research-scan).
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Rate is the event's packets per hour at each sensor it reaches, as
	// a multiple of that sensor's mean hourly rate of ordinary packets
	// (its expected share of Config.Packets over the period): 0.05 adds
	// 5% to the sensor's traffic while the event lasts, whatever Packets
	// is. For a mirai-spread, the rate reached at the end of the ramp.
	// 0 means the kind's default: port-campaign 0.05, fleet-surge 0.1,
	// mirai-spread 0.1, backscatter-burst 0.3, research-scan 0.03.
	Rate float64 `yaml:"rate,omitempty" json:"rate,omitempty"`
	// Sources is the number of source addresses the packets come from,
	// each packet from one drawn at random (those that draw none are not
	// in the truth). 0 means the kind's default: port-campaign 50,
	// fleet-surge 200, mirai-spread 500, research-scan 2; a
	// backscatter-burst has one (its victim).
	Sources int `yaml:"sources,omitempty" json:"sources,omitempty"`
}

// End returns the exclusive end of the event.
func (e Event) End() time.Time { return e.Start.Add(e.Duration) }

// withDefaults returns e with the kind's defaults filled in.
func (e Event) withDefaults() Event {
	d := eventDefaults[e.Kind]
	if !d.packets {
		return e
	}
	if e.Protocol == "" {
		e.Protocol = d.protocols[0]
	}
	if e.Port == 0 {
		e.Port = d.port
	}
	if e.Rate == 0 {
		e.Rate = d.rate
	}
	if e.Sources == 0 {
		e.Sources = d.sources
	}
	return e
}

// PortLabel returns the record.PortKey label of the event's destination
// port ("23/TCP"), or "" for the kinds whose packets have no one port (the
// outage, and the backscatter-burst, whose replies go to the ephemeral
// ports the attacker forged).
func (e Event) PortLabel() string {
	if e.Kind == EventSensorOutage || e.Kind == EventBackscatterBurst || e.Port == 0 {
		return ""
	}
	proto := e.Protocol
	if proto == "" {
		proto = "tcp"
	}
	return fmt.Sprintf("%d/%s", e.Port, strings.ToUpper(proto))
}

// Tag returns the name of the fingerprint tag every packet of the event
// carries, or "" when none.
func (e Event) Tag() string {
	switch e.Kind {
	case EventMiraiSpread:
		return "mirai"
	case EventBackscatterBurst:
		return "backscatter"
	case EventResearchScan:
		return "zmap"
	}
	return ""
}

// validate checks the event against the period [start, end) and the fleet.
func (e *Event) validate(start, end time.Time, f *fleet.Fleet) error {
	d, ok := eventDefaults[e.Kind]
	if !ok {
		if e.Kind == "" {
			return errors.New("kind is required")
		}
		return fmt.Errorf("unknown kind %q (want one of %s)", e.Kind, kindList())
	}
	if e.Start.IsZero() {
		return errors.New("start is required")
	}
	if e.Duration <= 0 {
		return fmt.Errorf("duration must be positive, got %s", e.Duration)
	}
	if e.Start.Before(start) || e.End().After(end) {
		return fmt.Errorf("%s..%s is not within the period %s..%s", e.Start.UTC().Format(time.RFC3339), e.End().UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	if err := e.validateScope(d, f); err != nil {
		return err
	}
	if !d.packets {
		if e.Port != 0 || e.Protocol != "" || e.Rate != 0 || e.Sources != 0 {
			return fmt.Errorf("%s takes no port, protocol, rate or sources", e.Kind)
		}
		return nil
	}
	if e.Port == 0 && d.port == 0 {
		return errors.New("port is required")
	}
	if e.Protocol != "" && !slices.Contains(d.protocols, e.Protocol) {
		return fmt.Errorf("protocol %q: want %s", e.Protocol, strings.Join(d.protocols, " or "))
	}
	if e.Rate < 0 || math.IsNaN(e.Rate) || math.IsInf(e.Rate, 0) {
		return fmt.Errorf("rate must be positive, got %v", e.Rate)
	}
	if e.Sources < 0 {
		return fmt.Errorf("sources must be positive, got %d", e.Sources)
	}
	if e.Kind == EventBackscatterBurst && e.Sources > 1 {
		return fmt.Errorf("a backscatter-burst comes from one victim, got %d sources", e.Sources)
	}
	return nil
}

func (e *Event) validateScope(d kindDefaults, f *fleet.Fleet) error {
	if !d.oneSensor {
		if e.Sensor != "" {
			return fmt.Errorf("%s reaches every sensor (or a group's): it takes no sensor (port-campaign is the one-sensor kind)", e.Kind)
		}
		if e.Group != "" && !slices.Contains(f.Groups(), e.Group) {
			return fmt.Errorf("group %q is not in the fleet (groups: %s)", e.Group, strings.Join(f.Groups(), ", "))
		}
		return nil
	}
	if e.Group != "" {
		return fmt.Errorf("%s is at one sensor: it takes a sensor, not a group", e.Kind)
	}
	if e.Sensor == "" {
		return fmt.Errorf("%s needs the sensor it happens at", e.Kind)
	}
	for i := range f.Sensors {
		s := &f.Sensors[i]
		if s.Name != e.Sensor {
			continue
		}
		if d.packets && !monitorsIPv4(s) {
			return fmt.Errorf("sensor %q monitors no IPv4 address, which the event's packets need", e.Sensor)
		}
		return nil
	}
	return fmt.Errorf("sensor %q is not in the fleet", e.Sensor)
}

func monitorsIPv4(s *fleet.Sensor) bool {
	for _, p := range s.Prefixes() {
		if p.Addr().Is4() {
			return true
		}
	}
	return false
}

func kindList() string {
	var names []string
	for _, k := range EventKinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// LoadEvents reads a YAML list of events (the keys of Event: kind, start,
// duration, sensor, group, port, protocol, rate, sources). Unknown keys
// are errors; the events are checked by Config.Validate, against the
// period and the fleet.
func LoadEvents(r io.Reader) ([]Event, error) {
	var events []Event
	if err := yamlstrict.DecodeReader(r, &events); err != nil {
		if errors.Is(err, io.EOF) {
			return []Event{}, nil
		}
		return nil, fmt.Errorf("events: %w", err)
	}
	return events, nil
}
