package simulate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"
)

// EventsTruthFile is the name `nightjar simulate --events` gives the
// events' ground truth (EventsTruth.WriteJSON), beside its capture.
const EventsTruthFile = "events-truth.json"

// EventsTruth is the ground truth of a run's injected events, for the
// evaluation of the alert detectors: what happened, where, when, and
// exactly what was written (or dropped) of it.
type EventsTruth struct {
	Seed  uint64    `json:"seed"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // exclusive
	// WeeklyFactor and DiurnalFactor are the cycles of the ordinary
	// traffic the events stand out from.
	WeeklyFactor  float64 `json:"weekly_factor"`
	DiurnalFactor float64 `json:"diurnal_factor"`
	// Events are in the order of Config.Events; empty, not null, when
	// none.
	Events []EventTruth `json:"events"`
	// QuietWeeks are the weeks of the period (seven days from Start, from
	// Start + 7 days...; only whole weeks within it) during which no
	// event is under way at any sensor: the ground on which to count
	// false alerts. Empty, not null, when none.
	QuietWeeks []Week `json:"quiet_weeks"`
}

// Week is a week of the period, [Start, End).
type Week struct {
	// Index is the week's number from the period's start, 0 first.
	Index int       `json:"index"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// EventTruth is one event as injected.
type EventTruth struct {
	// ID is the event's index in Config.Events.
	ID   int       `json:"id"`
	Kind EventKind `json:"kind"`
	// Sensors are the sensors it reaches (drops, for an outage), in
	// fleet order.
	Sensors []string `json:"sensors"`
	// Group is the group of its one sensor, or the group it is confined
	// to; "" when it reaches the fleet.
	Group string `json:"group"`
	// Port is the record.PortKey label of its packets' destination port
	// ("23/TCP"); "" for an outage and a backscatter-burst (whose
	// replies go to random ports: see ServicePort).
	Port string `json:"port"`
	// ServicePort is a backscatter-burst's victim's port (the source
	// port of its replies); 0 otherwise.
	ServicePort uint16 `json:"service_port,omitempty"`
	// Tag is the fingerprint tag every packet of it carries ("mirai",
	// "backscatter", "zmap"), "" when none.
	Tag   string    `json:"tag"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // exclusive
	// Rate is the event's intensity as configured, defaults applied
	// (Event.Rate); 0 for an outage.
	Rate float64 `json:"rate"`
	// Ramp is true when the rate and the sources grow from nothing at
	// Start to Rate and Sources at End (mirai-spread).
	Ramp bool `json:"ramp"`
	// Packets and Sources are what was written of it: packets, and
	// distinct source addresses over every sensor.
	Packets uint64 `json:"packets"`
	Sources int    `json:"sources"`
	// Dropped is what an outage took away: packets its sensor would have
	// captured (ordinary ones and other events').
	Dropped uint64 `json:"dropped"`
	// PerSensor is Packets, Sources and Dropped at each of Sensors.
	PerSensor map[string]EventSensorTruth `json:"per_sensor"`
	// Addresses are the sources that sent a written packet, sorted.
	Addresses []string `json:"addresses"`
}

// EventSensorTruth is what one sensor captured of an event.
type EventSensorTruth struct {
	Packets uint64 `json:"packets"`
	Sources int    `json:"sources"`
	Dropped uint64 `json:"dropped,omitempty"`
}

// WriteJSON writes the events' truth as indented JSON (maps in key order,
// so the output is deterministic).
func (t *EventsTruth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("write events truth: %w", err)
	}
	return nil
}

// eventsTruth builds the EventsTruth after a run.
func (w *world) eventsTruth() *EventsTruth {
	t := &EventsTruth{
		Seed: w.cfg.Seed, Start: time.Unix(0, w.start).UTC(), End: time.Unix(0, w.end).UTC(),
		WeeklyFactor: w.cfg.WeeklyFactor, DiurnalFactor: w.cfg.DiurnalFactor,
		Events: []EventTruth{}, QuietWeeks: []Week{},
	}
	for id, in := range w.inj {
		et := EventTruth{
			ID: id, Kind: in.Kind, Sensors: []string{}, Port: in.PortLabel(), Tag: in.Tag(),
			Start: in.Start.UTC(), End: in.End().UTC(), Rate: in.Rate, Ramp: in.ramp,
			PerSensor: map[string]EventSensorTruth{}, Addresses: []string{},
		}
		if in.Kind == EventBackscatterBurst {
			et.ServicePort = in.Port
		}
		switch {
		case in.Sensor != "":
			et.Group = w.sensors[in.sensors[0]].group
		case in.Group != "":
			et.Group = in.Group
		}
		var all []uint64
		for j, si := range in.sensors {
			name := w.sensors[si].name
			et.Sensors = append(et.Sensors, name)
			st := EventSensorTruth{Packets: in.written[j], Dropped: in.dropped[j]}
			if in.reached != nil {
				st.Sources = distinct(in.reached[j])
				all = orInto(all, in.reached[j])
			}
			et.PerSensor[name] = st
			et.Packets += st.Packets
			et.Dropped += st.Dropped
		}
		et.Sources = distinct(all)
		var addrs []netip.Addr
		for i := range in.n {
			if all[i/64]&(1<<(i%64)) != 0 {
				addrs = append(addrs, w.sourceAddr(&w.sources[in.first+i]))
			}
		}
		slices.SortFunc(addrs, netip.Addr.Compare)
		for _, a := range addrs {
			et.Addresses = append(et.Addresses, a.String())
		}
		t.Events = append(t.Events, et)
	}
	t.QuietWeeks = quietWeeks(t.Start, t.End, t.Events)
	return t
}

func orInto(dst, src []uint64) []uint64 {
	if dst == nil {
		dst = make([]uint64, len(src))
	}
	for i, x := range src {
		dst[i] |= x
	}
	return dst
}

const week = 7 * 24 * time.Hour

// quietWeeks returns the whole weeks of [start, end), counted from start,
// that no event overlaps.
func quietWeeks(start, end time.Time, events []EventTruth) []Week {
	out := []Week{}
	for i := 0; !start.Add(time.Duration(i+1) * week).After(end); i++ {
		ws, we := start.Add(time.Duration(i)*week), start.Add(time.Duration(i+1)*week)
		quiet := true
		for _, e := range events {
			if e.Start.Before(we) && e.End.After(ws) {
				quiet = false
				break
			}
		}
		if quiet {
			out = append(out, Week{Index: i, Start: ws, End: we})
		}
	}
	return out
}
