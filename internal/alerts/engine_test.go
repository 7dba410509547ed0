package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// traffic is an Activity in memory: hourly counts drawn around a daily
// and weekly cycle, with changes added on top.
type traffic struct {
	sensors []store.Sensor
	ports   map[int64][]store.PortHour // by hour key, ordered by sensor then slot
	tags    map[int64][]store.TagHour
	health  []store.Health
	// origins: a country's sources per day (days since the epoch);
	// models: a device model and the day it began scanning.
	origins map[string]map[int64]uint64
	models  map[string]time.Time
}

var t0 = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC) // a Monday

func slotOf(t *testing.T, label string) int32 {
	t.Helper()
	s, err := portcount.ParseLabel(label)
	if err != nil {
		t.Fatal(err)
	}
	return int32(s)
}

// newTraffic draws weeks of quiet traffic at four sensors in two groups:
// 23/TCP (Mirai-tagged for the most part), 22/TCP, 445/TCP, and a tail
// of ports with a few packets.
func newTraffic(t *testing.T, weeks int) *traffic {
	tr := &traffic{ports: map[int64][]store.PortHour{}, tags: map[int64][]store.TagHour{},
		origins: map[string]map[int64]uint64{"JP": {}, "US": {}}, models: map[string]time.Time{"TP-Link Archer C7": t0}}
	for i, name := range []string{"jp-1", "jp-2", "os-1", "os-2"} {
		group := "japan"
		if strings.HasPrefix(name, "os") {
			group = "overseas"
		}
		tr.sensors = append(tr.sensors, store.Sensor{Sensor: fleet.Sensor{Name: name, Group: group}, ID: int32(i + 1), FirstSeen: t0})
	}
	r := rand.New(rand.NewPCG(1, 2))
	poisson := func(mean float64) uint64 { // normal approximation, enough here
		return uint64(max(0, math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	base := []struct {
		port             string
		packets, sources float64
		mirai            float64
	}{{"23/TCP", 1500, 120, 0.8}, {"22/TCP", 400, 40, 0}, {"445/TCP", 250, 30, 0}}
	for h := t0; h.Before(t0.Add(time.Duration(weeks) * 7 * 24 * time.Hour)); h = h.Add(time.Hour) {
		cycle := 1 + 0.3*math.Cos(2*math.Pi*float64(h.Hour()-13)/24)
		if wd := h.Weekday(); wd == time.Saturday || wd == time.Sunday {
			cycle *= 0.8
		}
		if h.Hour() == 0 {
			tr.origins["JP"][hourKey(h)/24] = poisson(300)
			tr.origins["US"][hourKey(h)/24] = poisson(200)
		}
		for _, sen := range tr.sensors {
			for _, b := range base {
				p := poisson(b.packets * cycle)
				tr.add(h, sen.ID, slotOf(t, b.port), p, poisson(b.sources*cycle), uint64(float64(p)*b.mirai))
			}
			for k := 0; k < 5; k++ {
				tr.add(h, sen.ID, int32(1000+r.IntN(60000)), 1+uint64(r.IntN(3)), 1, 0)
			}
			tr.addTag(h, sen.ID, "backscatter", poisson(60*cycle))
		}
	}
	return tr
}

func (tr *traffic) add(h time.Time, sensor, slot int32, packets, sources, mirai uint64) {
	k := hourKey(h)
	rows := tr.ports[k]
	i := slices.IndexFunc(rows, func(p store.PortHour) bool { return p.Sensor == sensor && p.Slot == slot })
	if i < 0 {
		rows = append(rows, store.PortHour{Hour: h, Sensor: sensor, Slot: slot})
		i = len(rows) - 1
	}
	rows[i].Packets += packets
	rows[i].Sources += sources
	rows[i].Mirai += mirai
	tr.ports[k] = rows
}

func (tr *traffic) addTag(h time.Time, sensor int32, tag string, packets uint64) {
	tr.tags[hourKey(h)] = append(tr.tags[hourKey(h)], store.TagHour{Hour: h, Sensor: sensor, Tag: tag, Packets: packets})
}

// scale multiplies the counts of the hour h by f (the part of it that
// has passed).
func (tr *traffic) scale(h time.Time, f float64) {
	for i := range tr.ports[hourKey(h)] {
		p := &tr.ports[hourKey(h)][i]
		p.Packets, p.Sources, p.Mirai = uint64(float64(p.Packets)*f), uint64(float64(p.Sources)*f), uint64(float64(p.Mirai)*f)
	}
	for i := range tr.tags[hourKey(h)] {
		p := &tr.tags[hourKey(h)][i]
		p.Packets = uint64(float64(p.Packets) * f)
	}
}

// silence removes a sensor's packets in [from, to).
func (tr *traffic) silence(sensor int32, from, to time.Time) {
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		tr.ports[hourKey(h)] = slices.DeleteFunc(tr.ports[hourKey(h)], func(p store.PortHour) bool { return p.Sensor == sensor })
		tr.tags[hourKey(h)] = slices.DeleteFunc(tr.tags[hourKey(h)], func(p store.TagHour) bool { return p.Sensor == sensor })
	}
}

func (tr *traffic) PortHours(ctx context.Context, from, to time.Time, fn func(store.PortHour) error) error {
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		rows := slices.Clone(tr.ports[hourKey(h)])
		slices.SortFunc(rows, func(a, b store.PortHour) int {
			if a.Sensor != b.Sensor {
				return int(a.Sensor - b.Sensor)
			}
			return int(a.Slot - b.Slot)
		})
		for _, p := range rows {
			if err := fn(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (tr *traffic) TagHours(ctx context.Context, from, to time.Time, fn func(store.TagHour) error) error {
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		for _, p := range tr.tags[hourKey(h)] {
			if err := fn(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// PartHour finds nothing: the traffic keeps no raw records, so these
// tests' backtests look at whole hours (cmd/nightjar's look at the parts
// of hours of a real store).
func (tr *traffic) PartHour(context.Context, time.Time, time.Time, func(store.PortHour) error, func(store.TagHour) error) error {
	return nil
}

// Origins and Devices answer from the traffic's origins and models.
func (tr *traffic) Origins(_ context.Context, q store.OriginsQuery) (store.Origins, error) {
	day := q.Period.Start
	var table store.OriginTable
	for key, per := range tr.origins {
		n := per[hourKey(day)/24]
		if n == 0 || q.Kind != store.ByCountry {
			continue
		}
		table.Sources += n
		table.Origins = append(table.Origins, store.RankedOrigin{Key: key, Country: key, Sources: n})
	}
	return store.Origins{Tables: []store.OriginTable{table}}, nil
}

func (tr *traffic) Devices(_ context.Context, q store.DevicesQuery) (store.DeviceTable, error) {
	var out store.DeviceTable
	for model, first := range tr.models { // scanning every day from first
		if first.Before(q.Period.End) {
			vendor, name, _ := strings.Cut(model, " ")
			out.Models = append(out.Models, store.DeviceModel{Vendor: vendor, Model: name, Sources: 3, LastSeen: q.Period.End.Add(-time.Hour)})
		}
	}
	return out, nil
}

func (tr *traffic) Sensors(context.Context) ([]store.Sensor, error) { return tr.sensors, nil }
func (tr *traffic) Health(context.Context) ([]store.Health, error)  { return tr.health, nil }

// backtest runs the last week of five.
func backtest(t *testing.T, tr *traffic, cfg Config) []store.Alert {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := Backtest(context.Background(), cfg, tr, nil, t0.Add(4*7*24*time.Hour), t0.Add(5*7*24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func keys(as []store.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Key())
	}
	return out
}

func TestQuietTrafficRaisesNothing(t *testing.T) {
	tr := newTraffic(t, 5)
	if got := backtest(t, tr, DefaultConfig()); len(got) != 0 {
		t.Errorf("quiet week: %d alerts, want none: %q", len(got), keys(got))
	}
}

var surgeAt = t0.Add(4*7*24*time.Hour + 3*24*time.Hour + 10*time.Hour) // Thursday of week 5, 10:00

func TestChangeAtOneSensorIsLocal(t *testing.T) {
	tr := newTraffic(t, 5)
	for k := 0; k < 3; k++ {
		tr.add(surgeAt.Add(time.Duration(k)*time.Hour), 3, slotOf(t, "4444/TCP"), 3000, 400, 0)
	}
	got := backtest(t, tr, DefaultConfig())
	if len(got) != 1 || got[0].Key() != "local-change sensor=os-1,port=4444/TCP" {
		t.Fatalf("alerts %q, want one local change at os-1", keys(got))
	}
	a := got[0]
	if !a.Start.Equal(surgeAt) || !a.LastSeen.Equal(surgeAt.Add(2*time.Hour)) || a.State != store.AlertResolved {
		t.Errorf("alert %+v: want start %s, last seen 2 h later, resolved after", a, surgeAt)
	}
	if len(a.Evidence.Others) != 3 || a.Evidence.Observed != 3000 && a.Evidence.Observed != 400 {
		t.Errorf("evidence %+v: want the three other sensors compared, and the observed hour", a.Evidence)
	}
	if !strings.Contains(a.Summary, "new campaign") || !strings.Contains(a.Link, "port=4444%2FTCP") {
		t.Errorf("summary %q, link %q", a.Summary, a.Link)
	}
}

func TestChangeAtEverySensorIsTheFleets(t *testing.T) {
	tr := newTraffic(t, 5)
	for id := int32(1); id <= 4; id++ {
		tr.add(surgeAt, id, slotOf(t, "22/TCP"), 5000, 600, 0)
	}
	got := backtest(t, tr, DefaultConfig())
	if len(got) != 1 || got[0].Key() != "port-surge port=22/TCP" {
		t.Fatalf("alerts %q, want one surge of the fleet", keys(got))
	}
	if n := len(got[0].Evidence.Others); n != 4 {
		t.Errorf("evidence lists %d sensors, want 4", n)
	}
}

func TestChangeAtOneGroupIsTheGroups(t *testing.T) {
	tr := newTraffic(t, 5)
	for _, id := range []int32{3, 4} {
		tr.add(surgeAt, id, slotOf(t, "5555/TCP"), 2000, 300, 0)
	}
	got := backtest(t, tr, DefaultConfig())
	if len(got) != 1 || got[0].Key() != "local-change group=overseas,port=5555/TCP" {
		t.Fatalf("alerts %q, want one local change of the overseas group", keys(got))
	}
}

func TestSilentSensor(t *testing.T) {
	tr := newTraffic(t, 5)
	tr.silence(2, surgeAt, surgeAt.Add(4*time.Hour))
	got := backtest(t, tr, DefaultConfig())
	if len(got) != 1 || got[0].Key() != "sensor-silent sensor=jp-2" || got[0].Severity != store.SeverityCritical {
		t.Fatalf("alerts %q, want jp-2 silent (critical) and nothing else", keys(got))
	}
	if !got[0].LastSeen.Equal(surgeAt.Add(3 * time.Hour)) {
		t.Errorf("silent until %s, want the last silent hour %s", got[0].LastSeen, surgeAt.Add(3*time.Hour))
	}
}

func TestMiraiSpreadAndBackscatter(t *testing.T) {
	tr := newTraffic(t, 5)
	for id := int32(1); id <= 4; id++ {
		tr.add(surgeAt, id, slotOf(t, "37215/TCP"), 900, 20, 900)
		tr.addTag(surgeAt.Add(5*time.Hour), id, "backscatter", 4000)
	}
	got := keys(backtest(t, tr, DefaultConfig()))
	for _, want := range []string{"tag-spread port=37215/TCP,tag=mirai", "backscatter tag=backscatter"} {
		if !slices.Contains(got, want) {
			t.Errorf("alerts %q, want %q", got, want)
		}
	}
}

func TestTopEntry(t *testing.T) {
	tr := newTraffic(t, 5)
	// jp-1 has 25 ports of middling traffic, and 8728/TCP a few packets
	// from three sources once a day: not quiet, far from the top 20.
	for h := t0; h.Before(t0.Add(5 * 7 * 24 * time.Hour)); h = h.Add(time.Hour) {
		for p := int32(0); p < 25; p++ {
			tr.add(h, 1, slotOf(t, fmt.Sprintf("%d/TCP", 2000+p)), 10, 3, 0)
		}
		if h.Hour() == 4 {
			tr.add(h, 1, slotOf(t, "8728/TCP"), 5, 3, 0)
		}
	}
	// One day it is 3rd of jp-1's ports, from six sources an hour: under
	// the thresholds of a surge of sources.
	day := surgeAt.Truncate(24 * time.Hour)
	for k := 0; k < 24; k++ {
		tr.add(day.Add(time.Duration(k)*time.Hour), 1, slotOf(t, "8728/TCP"), 150, 6, 0)
	}
	if got := keys(backtest(t, tr, DefaultConfig())); len(got) != 0 {
		t.Errorf("alerts %q, want none: a sensor's top is not watched by default", got)
	}
	cfg := DefaultConfig()
	on := true
	cfg.Overrides = []Override{{Detector: DetectTopEntry, Scope: "sensor=jp-1", Thresholds: PartialThresholds{TopEntrySensors: &on}}}
	got := keys(backtest(t, tr, cfg))
	if !slices.Equal(got, []string{"top-entry sensor=jp-1,port=8728/TCP"}) {
		t.Errorf("alerts %q, want 8728/TCP entering jp-1's top", got)
	}
}

func TestOverrideAndDisabled(t *testing.T) {
	tr := newTraffic(t, 5)
	tr.add(surgeAt, 3, slotOf(t, "4444/TCP"), 3000, 400, 0)
	cfg := DefaultConfig()
	cfg.Overrides = []Override{{Scope: "port=4444/TCP", Disabled: true}}
	if got := backtest(t, tr, cfg); len(got) != 0 {
		t.Errorf("disabled for the scope: alerts %q", keys(got))
	}
	cfg = DefaultConfig()
	cfg.Disabled = []string{"nonsense"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `alerts.disabled: unknown detector "nonsense"`) {
		t.Errorf("Validate: %v", err)
	}
	cfg = DefaultConfig()
	cfg.Overrides = []Override{{Scope: "sensr=x"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `alerts.overrides[0].scope`) || !strings.Contains(err.Error(), `unknown key "sensr"`) {
		t.Errorf("Validate: %v", err)
	}
}

// TestLifecycle: an alert is updated while it lasts, resolved when quiet,
// re-opened when it comes back within a day, and a person acknowledges it.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	book := &MemoryBook{}
	life := NewLifecycle(book, &cfg, nil)
	f := Finding{Detector: DetectPortSurge, Scope: store.Scope{Port: "23/TCP"}, Severity: store.SeverityWarning,
		Summary: "s", Evidence: store.Evidence{Score: 7}}
	observe := func(h time.Time, fs ...Finding) []store.AlertWrite {
		for i := range fs {
			fs[i].Hour = h
		}
		w, err := life.Observe(ctx, h.Add(time.Hour), h, fs)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	events := func(ws []store.AlertWrite) []string {
		var out []string
		for _, w := range ws {
			out = append(out, w.Notify)
		}
		return out
	}
	h := surgeAt
	if got := events(observe(h, f)); !slices.Equal(got, []string{EventOpened}) {
		t.Errorf("first hour: %q", got)
	}
	if got := events(observe(h.Add(time.Hour), f)); !slices.Equal(got, []string{""}) {
		t.Errorf("second hour: %q, want a quiet update", got)
	}
	crit := f
	crit.Severity = store.SeverityCritical
	if got := events(observe(h.Add(2*time.Hour), crit)); !slices.Equal(got, []string{EventEscalated}) {
		t.Errorf("third hour: %q, want escalated", got)
	}
	a, err := life.Acknowledge(ctx, 1, "alice", "looking", h.Add(3*time.Hour))
	if err != nil || a.State != store.AlertAcknowledged || a.By != "alice" {
		t.Fatalf("Acknowledge: %+v, %v", a, err)
	}
	observe(h.Add(4 * time.Hour))
	if got := events(observe(h.Add(5 * time.Hour))); !slices.Equal(got, []string{EventResolved}) {
		t.Errorf("three hours quiet: %q, want resolved", got)
	}
	if got := events(observe(h.Add(10*time.Hour), f)); !slices.Equal(got, []string{EventReopened}) {
		t.Errorf("back within a day: %q, want reopened", got)
	}
	all, _ := book.Alerts(ctx, store.AlertQuery{})
	if len(all) != 1 || all[0].Reopened != 1 || all[0].State != store.AlertOpen || len(all[0].Evidence.Series) != 4 {
		t.Errorf("alerts %+v, want the one alert re-opened once, with 4 hours of series", all)
	}
	if _, err := life.Resolve(ctx, 1, "", "", h.Add(11*time.Hour)); err == nil {
		t.Error("Resolve without a name: no error")
	}
	if _, err := life.Resolve(ctx, 9, "bob", "", h.Add(11*time.Hour)); err == nil || !strings.Contains(err.Error(), "unknown alert") {
		t.Errorf("Resolve of an unknown alert: %v", err)
	}
	observe(h.Add(13 * time.Hour))
	if got := events(observe(h.Add(40*time.Hour), f)); !slices.Equal(got, []string{EventOpened}) {
		t.Errorf("back after more than a day: %q, want a new alert", got)
	}
}

// TestEngineLive: the live engine looks at the hour so far, so a strong
// change is an alert minutes after it starts, not at the end of the hour.
func TestEngineLive(t *testing.T) {
	tr := newTraffic(t, 5)
	now := surgeAt.Add(25 * time.Minute)
	tr.scale(surgeAt, 25.0/60)                             // the hour so far
	tr.add(surgeAt, 3, slotOf(t, "4444/TCP"), 800, 120, 0) // started 5 minutes ago
	var changed []store.AlertWrite
	cfg := DefaultConfig()
	e := NewEngine(discard(), cfg, Deps{Source: tr, Book: &MemoryBook{}, Now: func() time.Time { return now },
		Changed: func(ws []store.AlertWrite) { changed = append(changed, ws...) }})
	if err := e.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].Alert.Key() != "local-change sensor=os-1,port=4444/TCP" || changed[0].Notify != EventOpened {
		t.Fatalf("writes %+v, want the local change opened", changed)
	}
	// A change that begins between two looks is seen at the next: the
	// hour so far is read again, not kept from the look before.
	now = now.Add(time.Minute)
	tr.add(surgeAt, 1, slotOf(t, "5555/TCP"), 800, 120, 0)
	changed = nil
	if err := e.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(changed) != 2 || changed[1].Alert.Key() != "local-change sensor=jp-1,port=5555/TCP" || changed[1].Notify != EventOpened {
		t.Fatalf("writes %+v, want the second change opened", changed)
	}
}

func TestEngineHealth(t *testing.T) {
	tr := newTraffic(t, 5)
	now := surgeAt
	tr.scale(surgeAt, 0) // the hour has just begun
	tr.health = []store.Health{{Sensor: "jp-1", Received: now.Add(-time.Minute), PacketsSeen: 1000, SpoolBatches: 150},
		{Sensor: "os-1", Received: now.Add(-time.Hour), PacketsSeen: 5}}
	var changed []store.AlertWrite
	e := NewEngine(discard(), DefaultConfig(), Deps{Source: tr, Book: &MemoryBook{}, Now: func() time.Time { return now },
		Changed: func(ws []store.AlertWrite) { changed = append(changed, ws...) }})
	if err := e.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	tr.health[0] = store.Health{Sensor: "jp-1", Received: now, PacketsSeen: 2000, KernelDrops: 100, SpoolBatches: 180}
	if err := e.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range changed {
		if w.Notify == EventOpened {
			got = append(got, w.Alert.Key())
		}
	}
	slices.Sort(got)
	want := []string{"sensor-drops sensor=jp-1", "sensor-silent sensor=os-1", "spool-backlog sensor=jp-1"}
	if !slices.Equal(got, want) {
		t.Errorf("opened %q, want %q", got, want)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestEvaluate(t *testing.T) {
	h := surgeAt
	events := []Expected{
		{Kind: "port-campaign", Sensor: "os-1", Port: "4444/TCP", Start: h.Add(20 * time.Minute), End: h.Add(3 * time.Hour)},
		{Kind: "sensor-outage", Sensor: "jp-2", Detector: DetectSensorSilent, Start: h.Add(24 * time.Hour), End: h.Add(30 * time.Hour)},
		{Kind: "fleet-surge", Port: "22/TCP", Start: h.Add(48 * time.Hour), End: h.Add(50 * time.Hour)},
	}
	as := []store.Alert{
		{Detector: DetectLocalChange, Scope: store.Scope{Sensor: "os-1", Port: "4444/TCP"}, Start: h},
		{Detector: DetectPortSurge, Scope: store.Scope{Sensor: "os-1", Port: "22/TCP"}, Start: h.Add(49 * time.Hour)},
		{Detector: DetectPortSurge, Scope: store.Scope{Port: "80/TCP"}, Start: h.Add(100 * time.Hour)},
	}
	quiet := [][2]time.Time{{h.Add(96 * time.Hour), h.Add(96*time.Hour + 7*24*time.Hour)}}
	v := Evaluate(as, events, quiet, 4)
	if v.Events != 3 || v.Found != 2 || v.Placed != 1 || v.True != 2 || v.Alerts != 3 || v.QuietFalse != 1 || v.SensorWeeks != 4 {
		t.Errorf("evaluation %+v", v)
	}
	if v.Recall() != 2.0/3 || v.Precision() != 2.0/3 || v.FalsePerSensorWeek() != 0.25 {
		t.Errorf("recall %g, precision %g, false %g", v.Recall(), v.Precision(), v.FalsePerSensorWeek())
	}
	// Detection: the campaign at the end of its first hour (40 min), the
	// surge at the end of hour 49 (2 h): the median of two is the later.
	if v.Kinds[0].MedianDetection != 40*time.Minute || v.MedianDetection != 2*time.Hour {
		t.Errorf("detection %s, %s", v.Kinds[0].MedianDetection, v.MedianDetection)
	}
	if len(v.Missed) != 1 || v.Missed[0].Kind != "sensor-outage" {
		t.Errorf("missed %+v", v.Missed)
	}
}

// TestVolumeIsNotAChange: a sensor whose whole traffic grows tenfold (its
// prefix grew; a demo whose live rate is not its history's) has no port
// that changed.
func TestVolumeIsNotAChange(t *testing.T) {
	tr := newTraffic(t, 5)
	for k := 0; k < 3; k++ {
		tr.scaleSensor(surgeAt.Add(time.Duration(k)*time.Hour), 3, 10)
	}
	if got := backtest(t, tr, DefaultConfig()); len(got) != 0 {
		t.Errorf("alerts %q, want none", keys(got))
	}
}

// scaleSensor multiplies a sensor's traffic in the hour h by f: f times
// the packets and the scanners on its ports, and f times the single
// probes of its tail, each on a port of its own.
func (tr *traffic) scaleSensor(h time.Time, sensor int32, f uint64) {
	r := rand.New(rand.NewPCG(uint64(h.Unix()), uint64(sensor)))
	for i, n := 0, len(tr.ports[hourKey(h)]); i < n; i++ {
		p := &tr.ports[hourKey(h)][i]
		if p.Sensor != sensor {
			continue
		}
		if p.Sources > 1 {
			p.Packets, p.Sources, p.Mirai = p.Packets*f, p.Sources*f, p.Mirai*f
			continue
		}
		for k := uint64(1); k < f; k++ {
			tr.add(h, sensor, int32(1000+r.IntN(60000)), p.Packets, 1, 0)
		}
	}
	for i := range tr.tags[hourKey(h)] {
		if p := &tr.tags[hourKey(h)][i]; p.Sensor == sensor {
			p.Packets *= f
		}
	}
}

// TestDefaults: the defaults are those BENCHMARKS.md measured; a change
// of them is a change of the measured figures.
func TestDefaults(t *testing.T) {
	th := DefaultConfig().Thresholds
	if th.MinScore != 6 || th.MinRatio != 3 || th.MinPackets != 30 || th.MinTagPackets != 100 || th.MinSources != 12 || th.CampaignSources != 5 || len(DefaultConfig().SurgeTags) != 0 {
		t.Errorf("defaults %+v", th)
	}
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

func TestOriginSurgeAndNewDevice(t *testing.T) {
	tr := newTraffic(t, 5)
	day := surgeAt.Truncate(24 * time.Hour)
	tr.origins["US"][hourKey(day)/24] = 900
	tr.models["MikroTik RB750"] = day
	got := backtest(t, tr, DefaultConfig())
	want := []string{"origin-surge country=US", "new-device device=MikroTik RB750"}
	if !slices.Equal(keys(got), want) {
		t.Fatalf("alerts %q, want %q", keys(got), want)
	}
	if got[1].Severity != store.SeverityInfo || !strings.HasPrefix(got[0].Link, "/origins?") || !got[0].Start.Equal(day.Add(23*time.Hour)) {
		t.Errorf("alerts %+v", got)
	}
}
