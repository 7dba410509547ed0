package alerts

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Expected is an event the detectors should find (the simulator's ground
// truth of an injected event): where, when, and which alerts find it.
type Expected struct {
	Kind       string
	Start, End time.Time
	// Sensor: the one sensor an event is at ("" for the fleet or a
	// group); Group: the group a fleet-wide event is confined to.
	Sensor, Group string
	// Port ("23/TCP") and Tag ("backscatter"): what the alerts that find
	// it are about; Detector, when set, the one detector that does (a
	// sensor's silence).
	Port, Tag, Detector string
	// Research: the event is a research scanner's.
	Research bool
}

// grace is how long after an event ends an alert that starts may still
// be its (the hour it ended in, and the next).
const grace = 2 * time.Hour

// finds reports whether alert a is about event e: of its scope, and
// seen first, or again (re-opened), in the event's hours.
func (e Expected) finds(a store.Alert) bool {
	_, ok := e.noticed(a)
	return ok
}

// noticed is when alert a first noticed event e: the first point of its
// evidence's series in the event's hours (an alert re-opened for a
// second event started before it), at the instant the detectors saw it —
// the end of the hour for a series without instants.
func (e Expected) noticed(a store.Alert) (time.Time, bool) {
	if !e.about(a) {
		return time.Time{}, false
	}
	start, end := e.Start.Truncate(time.Hour), e.End.Add(grace)
	points := a.Evidence.Series
	if len(points) == 0 {
		points = []store.EvidencePoint{{Hour: a.Start}}
	}
	for _, p := range points {
		if !p.Hour.Before(start) && p.Hour.Before(end) {
			if p.Noticed.IsZero() {
				return p.Hour.Add(time.Hour), true
			}
			return p.Noticed, true
		}
	}
	return time.Time{}, false
}

// about reports whether alert a's detector and scope are the event's.
func (e Expected) about(a store.Alert) bool {
	switch {
	case e.Detector != "":
		return a.Detector == e.Detector && (e.Sensor == "" || a.Scope.Sensor == e.Sensor)
	case e.Port != "":
		return a.Scope.Port == e.Port
	case e.Tag != "":
		return a.Scope.Tag == e.Tag
	}
	return false
}

// placed reports whether alert a, about e, is where e happened: at its
// sensor for a one-sensor event, not at one sensor for a fleet-wide one.
func (e Expected) placed(a store.Alert) bool {
	if e.Sensor != "" {
		return a.Scope.Sensor == e.Sensor
	}
	if e.Group != "" {
		return a.Scope.Sensor == "" && (a.Scope.Group == e.Group || a.Scope.Group == "")
	}
	return a.Scope.Sensor == ""
}

// Evaluation is how well the alerts of a backtest found the expected
// events.
type Evaluation struct {
	Kinds []KindEvaluation
	// Events and Found over every kind; Alerts, True (about some event)
	// and Placed (of the found events, found at their place).
	Events, Found, Placed int
	Alerts, True          int
	// QuietFalse: the alerts that started in quiet weeks, about no
	// event; SensorWeeks: the quiet weeks times the sensors.
	QuietFalse  int
	SensorWeeks float64
	// MedianDetection: the median, over the found events of an hour or
	// more, of the time from the event's start to the instant an alert
	// first noticed it.
	MedianDetection time.Duration
	// Missed and False: the events not found, the alerts about none.
	Missed []Expected
	False  []store.Alert
}

// KindEvaluation is one kind of event's figures.
type KindEvaluation struct {
	Kind                  string
	Events, Found, Placed int
	Research              int // found, and the alert marked research
	MedianDetection       time.Duration
}

// Recall is the share of events found.
func (v Evaluation) Recall() float64 { return ratio(v.Found, v.Events) }

// Precision is the share of alerts about some event.
func (v Evaluation) Precision() float64 { return ratio(v.True, v.Alerts) }

// FalsePerSensorWeek is the false alerts per sensor-week of quiet weeks.
func (v Evaluation) FalsePerSensorWeek() float64 {
	if v.SensorWeeks == 0 {
		return 0
	}
	return float64(v.QuietFalse) / v.SensorWeeks
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Evaluate scores the alerts of a backtest against the expected events;
// quiet are the [start, end) of the weeks without events, sensors the
// fleet's size.
func Evaluate(alerts []store.Alert, events []Expected, quiet [][2]time.Time, sensors int) Evaluation {
	var v Evaluation
	v.Alerts = len(alerts)
	for _, a := range alerts {
		if slices.ContainsFunc(events, func(e Expected) bool { return e.finds(a) }) {
			v.True++
			continue
		}
		v.False = append(v.False, a)
		if slices.ContainsFunc(quiet, func(q [2]time.Time) bool { return !a.Start.Before(q[0]) && a.Start.Before(q[1]) }) {
			v.QuietFalse++
		}
	}
	for _, q := range quiet {
		v.SensorWeeks += float64(sensors) * q[1].Sub(q[0]).Hours() / (7 * 24)
	}
	byKind := map[string]*KindEvaluation{}
	var kinds []string
	detections := map[string][]time.Duration{}
	for _, e := range events {
		k := byKind[e.Kind]
		if k == nil {
			k = &KindEvaluation{Kind: e.Kind}
			byKind[e.Kind] = k
			kinds = append(kinds, e.Kind)
		}
		k.Events++
		v.Events++
		var first time.Time
		placed, research := false, false
		for _, a := range alerts {
			h, ok := e.noticed(a)
			if !ok {
				continue
			}
			if first.IsZero() || h.Before(first) {
				first = h
			}
			placed = placed || e.placed(a)
			research = research || a.Research
		}
		if first.IsZero() {
			v.Missed = append(v.Missed, e)
			continue
		}
		k.Found++
		v.Found++
		if placed {
			k.Placed++
			v.Placed++
		}
		if research {
			k.Research++
		}
		if e.End.Sub(e.Start) >= time.Hour {
			d := max(first.Sub(e.Start), 0) // noticed in the hour it began, by a look that closed after it
			detections[e.Kind] = append(detections[e.Kind], d)
			detections[""] = append(detections[""], d)
		}
	}
	for _, name := range kinds {
		k := byKind[name]
		k.MedianDetection = medianDuration(detections[name])
		v.Kinds = append(v.Kinds, *k)
	}
	v.MedianDetection = medianDuration(detections[""])
	return v
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// Write prints the evaluation as a table per kind, then the totals and
// the misses and false alerts.
func (v Evaluation) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT KIND\tEVENTS\tFOUND\tAT ITS PLACE\tRESEARCH-LABELLED\tMEDIAN DETECTION")
	for _, k := range v.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", k.Kind, k.Events, k.Found, k.Placed, k.Research, k.MedianDetection)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "recall %.3f (%d/%d), precision %.3f (%d/%d alerts), at their place %d/%d, median detection %s, false alerts per sensor-week on quiet weeks %.3f (%d over %.0f sensor-weeks)\n",
		v.Recall(), v.Found, v.Events, v.Precision(), v.True, v.Alerts, v.Placed, v.Found, v.MedianDetection,
		v.FalsePerSensorWeek(), v.QuietFalse, v.SensorWeeks)
	for _, e := range v.Missed {
		fmt.Fprintf(w, "missed: %s at %s %s from %s to %s\n", e.Kind, orFleet(e.Sensor, e.Group), strings.TrimSpace(e.Port+" "+e.Tag),
			e.Start.Format(time.RFC3339), e.End.Format(time.RFC3339))
	}
	for _, a := range v.False {
		fmt.Fprintf(w, "false: %s from %s: %s\n", a.Key(), a.Start.Format(time.RFC3339), a.Summary)
	}
	return nil
}

func orFleet(sensor, group string) string {
	switch {
	case sensor != "":
		return sensor
	case group != "":
		return "group " + group
	}
	return "the fleet"
}
