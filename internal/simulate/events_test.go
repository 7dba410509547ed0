package simulate

import (
	"bytes"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
)

// eventsConfig is three weeks with one event of every kind (and a UDP
// campaign and a fleet-surge confined to a group), none at the outage's
// sensor while it lasts.
func eventsConfig() Config {
	cfg := testConfig()
	cfg.Duration = 21 * 24 * time.Hour
	cfg.Packets = 150_000
	at := func(day, hour int) time.Time { return cfg.Start.Add(time.Duration(day*24+hour) * time.Hour) }
	cfg.Events = []Event{
		{Kind: EventPortCampaign, Start: at(2, 10), Duration: 8 * time.Hour, Sensor: "jp-osaka-1", Port: 9443, Rate: 0.2, Sources: 30},
		{Kind: EventFleetSurge, Start: at(4, 3), Duration: 6 * time.Hour, Port: 445, Rate: 0.3},
		{Kind: EventMiraiSpread, Start: at(6, 0), Duration: 4 * 24 * time.Hour, Port: 5555, Rate: 0.3, Sources: 200},
		{Kind: EventSensorOutage, Start: at(11, 12), Duration: 10 * time.Hour, Sensor: "de-fra-1"},
		{Kind: EventBackscatterBurst, Start: at(13, 2), Duration: 3 * time.Hour, Port: 443, Rate: 0.5},
		{Kind: EventResearchScan, Start: at(15, 0), Duration: 12 * time.Hour, Port: 1883, Rate: 0.1, Sources: 3},
		{Kind: EventFleetSurge, Start: at(17, 6), Duration: 6 * time.Hour, Group: "Japan", Port: 3389, Rate: 0.3},
		{Kind: EventPortCampaign, Start: at(18, 0), Duration: 4 * time.Hour, Sensor: "sg-sin-1", Port: 5683, Protocol: "udp"},
	}
	return cfg
}

// frameKey identifies a frame across two runs.
type frameKey struct {
	ts       int64
	src, dst netip.Addr
	label    string
}

func keyOfFrame(f *frame) frameKey { return frameKey{f.ts, f.src, f.dst, f.label} }

// decodeRun runs cfg and decodes its capture, keeping the frames; the
// truth it rebuilds must be Run's truth.
func decodeRun(t *testing.T, cfg Config) (*recount, *Truth) {
	t.Helper()
	pcap, truth := simulate(t, cfg)
	start, end := cfg.period()
	rc, err := recountCapture(pcap, DefaultFleet(), time.Unix(0, start).UTC(), time.Unix(0, end).UTC(), true)
	if err != nil {
		t.Fatalf("decode capture: %v", err)
	}
	opts := cmp.Options{
		cmpopts.IgnoreFields(Truth{}, "Seed", "Start", "End", "Kinds", "Events"),
		cmpopts.IgnoreFields(SourceTruth{}, "Kind"),
		cmpopts.EquateEmpty(),
	}
	if diff := cmp.Diff(truth, rc.truth, opts); diff != "" {
		t.Errorf("Run() truth against the decoded capture (-got, +want):\n%s", diff)
	}
	var kinds uint64
	for _, n := range truth.Kinds {
		kinds += n
	}
	if kinds != truth.Packets {
		t.Errorf("Run() truth kinds sum to %d, want its %d packets", kinds, truth.Packets)
	}
	return rc, truth
}

// TestEventsTruth decodes a capture with events and the capture of the
// same configuration without them: the ordinary packets must be the same
// but for those the outage dropped, and the extra packets, grouped by
// event (through their sources), must be what the events' truth says.
func TestEventsTruth(t *testing.T) {
	t.Parallel()
	cfg := eventsConfig()
	withEvents, truth := decodeRun(t, cfg)
	plain := cfg
	plain.Events = nil
	without, _ := decodeRun(t, plain)
	f := DefaultFleet()
	sensorIndex := map[string]int{}
	for i, s := range f.Sensors {
		sensorIndex[s.Name] = i
	}
	et := truth.Events
	if et == nil || len(et.Events) != len(cfg.Events) {
		t.Fatalf("Run() truth has events %+v, want %d", et, len(cfg.Events))
	}

	// The ordinary packets: those of the run without events, but for the
	// outage's.
	outage := et.Events[3]
	dropped := func(fr *frame) bool {
		return fr.sensor == sensorIndex[outage.Sensors[0]] && fr.ts >= outage.Start.UnixNano() && fr.ts < outage.End.UnixNano()
	}
	var ordinary []frameKey
	var wantDropped uint64
	ordinarySources := map[netip.Addr]bool{}
	for _, fr := range without.frames {
		if dropped(fr) {
			wantDropped++
			continue
		}
		ordinary = append(ordinary, keyOfFrame(fr))
		ordinarySources[fr.src] = true
	}
	var extra []*frame
	k := 0
	for _, fr := range withEvents.frames {
		if k < len(ordinary) && keyOfFrame(fr) == ordinary[k] {
			k++
			continue
		}
		extra = append(extra, fr)
	}
	if k != len(ordinary) {
		t.Fatalf("the capture with events holds %d of the %d ordinary packets, in order", k, len(ordinary))
	}
	if outage.Dropped != wantDropped || outage.PerSensor[outage.Sensors[0]].Dropped != wantDropped || wantDropped == 0 {
		t.Errorf("outage dropped %d (%+v), want the %d packets the sensor receives in its window without it", outage.Dropped, outage.PerSensor, wantDropped)
	}
	for _, fr := range withEvents.frames {
		if dropped(fr) {
			t.Fatalf("sensor %s captured a packet at %s, during its outage", outage.Sensors[0], time.Unix(0, fr.ts).UTC())
		}
	}

	// The extra packets, by event.
	eventOf := map[string]int{}
	for id, e := range et.Events {
		for _, a := range e.Addresses {
			if other, ok := eventOf[a]; ok {
				t.Errorf("source %s is in events %d and %d", a, other, id)
			}
			eventOf[a] = id
		}
	}
	type perSensor struct {
		packets uint64
		sources map[netip.Addr]bool
	}
	got := make([]map[string]*perSensor, len(et.Events))
	research := ResearchNetworks()
	var extraCount uint64
	for _, fr := range extra {
		extraCount++
		id, ok := eventOf[fr.src.String()]
		if !ok {
			t.Fatalf("extra packet from %s to %s (%s) is no event's", fr.src, fr.dst, fr.label)
		}
		if ordinarySources[fr.src] {
			t.Errorf("event source %s also sends ordinary packets", fr.src)
		}
		e := &et.Events[id]
		if fr.ts < e.Start.UnixNano() || fr.ts >= e.End.UnixNano() {
			t.Errorf("event %d (%s): packet at %s, outside %s..%s", id, e.Kind, time.Unix(0, fr.ts).UTC(), e.Start, e.End)
		}
		if e.Port != "" && fr.label != e.Port {
			t.Errorf("event %d (%s): packet to %s, want %s", id, e.Kind, fr.label, e.Port)
		}
		if e.Tag != "" && !slices.Contains(fr.tags.Names(), e.Tag) {
			t.Errorf("event %d (%s): packet tagged %v, want %s", id, e.Kind, fr.tags.Names(), e.Tag)
		}
		if e.Tag == "" && fr.tags != 0 {
			t.Errorf("event %d (%s): packet tagged %v, want none", id, e.Kind, fr.tags.Names())
		}
		if e.Kind == EventBackscatterBurst && fr.sport != e.ServicePort {
			t.Errorf("event %d: backscatter from port %d, want %d", id, fr.sport, e.ServicePort)
		}
		if e.Kind == EventResearchScan && !slices.ContainsFunc(research, func(p netip.Prefix) bool { return p.Contains(fr.src) }) {
			t.Errorf("event %d: research scanner %s is in no research network", id, fr.src)
		}
		name := f.Sensors[fr.sensor].Name
		if !slices.Contains(e.Sensors, name) {
			t.Errorf("event %d (%s): packet at %s, not one of its sensors %v", id, e.Kind, name, e.Sensors)
		}
		if got[id] == nil {
			got[id] = map[string]*perSensor{}
		}
		ps := got[id][name]
		if ps == nil {
			ps = &perSensor{sources: map[netip.Addr]bool{}}
			got[id][name] = ps
		}
		ps.packets++
		ps.sources[fr.src] = true
	}
	var truthExtra uint64
	for id, e := range et.Events {
		truthExtra += e.Packets
		want := map[string]EventSensorTruth{}
		for _, name := range e.Sensors {
			st := EventSensorTruth{Dropped: e.PerSensor[name].Dropped}
			if ps := got[id][name]; ps != nil {
				st.Packets, st.Sources = ps.packets, len(ps.sources)
			}
			want[name] = st
		}
		if diff := cmp.Diff(e.PerSensor, want); diff != "" {
			t.Errorf("event %d (%s) per sensor (-got, +want):\n%s", id, e.Kind, diff)
		}
		if e.Kind != EventSensorOutage && (e.Packets == 0 || e.Sources == 0) {
			t.Errorf("event %d (%s) wrote %d packets from %d sources, want some", id, e.Kind, e.Packets, e.Sources)
		}
	}
	if truthExtra != extraCount {
		t.Errorf("events' truth counts %d packets, the capture holds %d extra", truthExtra, extraCount)
	}
	if n := uint64(len(withEvents.frames)); n != cfg.Packets-wantDropped+extraCount {
		t.Errorf("capture holds %d packets, want %d ordinary - %d dropped + %d of events", n, cfg.Packets, wantDropped, extraCount)
	}
}

// TestEventsShape checks each kind's own promise on the truth: scope,
// port, tag, ramp, and a rate relative to the sensors' ordinary traffic.
func TestEventsShape(t *testing.T) {
	t.Parallel()
	cfg := eventsConfig()
	pcap, truth := simulate(t, cfg)
	rc, err := recountCapture(pcap, DefaultFleet(), cfg.Start, cfg.Start.Add(cfg.Duration), true)
	if err != nil {
		t.Fatal(err)
	}
	plain := cfg
	plain.Events = nil
	_, base := simulate(t, plain)
	et := truth.Events
	wantScope := []struct {
		sensors []string
		group   string
		port    string
		tag     string
	}{
		{[]string{"jp-osaka-1"}, "Japan", "9443/TCP", ""},
		{allSensors(), "", "445/TCP", ""},
		{allSensors(), "", "5555/TCP", "mirai"},
		{[]string{"de-fra-1"}, "overseas", "", ""},
		{allSensors(), "", "", "backscatter"},
		{allSensors(), "", "1883/TCP", "zmap"},
		{[]string{"jp-tokyo-1", "jp-osaka-1", "jp-fukuoka-1"}, "Japan", "3389/TCP", ""},
		{[]string{"sg-sin-1"}, "overseas", "5683/UDP", ""},
	}
	for id, w := range wantScope {
		e := et.Events[id]
		if diff := cmp.Diff([]any{e.Sensors, e.Group, e.Port, e.Tag}, []any{w.sensors, w.group, w.port, w.tag}); diff != "" {
			t.Errorf("event %d (%s) sensors, group, port, tag (-got, +want):\n%s", id, e.Kind, diff)
		}
	}
	if e := et.Events[4]; e.Sources != 1 || e.ServicePort != 443 {
		t.Errorf("backscatter burst from %d sources, service port %d; want one victim, 443", e.Sources, e.ServicePort)
	}
	// Rate: the event's packets at a sensor over its ordinary packets in
	// as long a time.
	period := cfg.Start.Add(cfg.Duration).Sub(cfg.Start)
	for _, id := range []int{0, 1, 5} {
		e := et.Events[id]
		for _, name := range e.Sensors {
			ordinary := float64(base.Sensors[name].Packets) * float64(e.End.Sub(e.Start)) / float64(period)
			if ratio := float64(e.PerSensor[name].Packets) / ordinary; math.Abs(ratio-e.Rate) > 0.3*e.Rate+2/ordinary {
				t.Errorf("event %d (%s) at %s: %d packets, %.3f of the ordinary rate, want %.2f", id, e.Kind, name, e.PerSensor[name].Packets, ratio, e.Rate)
			}
		}
	}
	// The Mirai spread ramps up: a quarter of its packets in its first
	// half, three quarters in the second.
	mirai := et.Events[2]
	if !mirai.Ramp {
		t.Error("mirai-spread truth: Ramp false")
	}
	firstHalf := 0
	mid := mirai.Start.Add(mirai.End.Sub(mirai.Start) / 2)
	addrs := map[string]bool{}
	for _, a := range mirai.Addresses {
		addrs[a] = true
	}
	for _, fr := range rc.frames {
		if addrs[fr.src.String()] && fr.ts < mid.UnixNano() {
			firstHalf++
		}
	}
	if share := float64(firstHalf) / float64(mirai.Packets); math.Abs(share-0.25) > 0.05 {
		t.Errorf("mirai-spread: %.3f of its packets in its first half, want 0.25", share)
	}
	if mirai.Sources < 150 {
		t.Errorf("mirai-spread: %d sources of 200", mirai.Sources)
	}
}

func allSensors() []string {
	var out []string
	for _, s := range DefaultFleet().Sensors {
		out = append(out, s.Name)
	}
	return out
}

// TestEventsDeterministic: the same configuration gives the same capture
// and the same events' truth; the progress reaches its total.
func TestEventsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := eventsConfig()
	cfg.Packets = 50_000
	pcap1, truth1 := simulate(t, cfg)
	var buf bytes.Buffer
	var last, total uint64
	pw := newPcapWriter(&buf)
	truth2, err := Run(t.Context(), cfg, pw, func(done, n uint64) { last, total = done, n })
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pcap1, buf.Bytes()) {
		t.Error("same configuration: captures differ")
	}
	var j1, j2 bytes.Buffer
	if err := truth1.Events.WriteJSON(&j1); err != nil {
		t.Fatal(err)
	}
	if err := truth2.Events.WriteJSON(&j2); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(j1.String(), j2.String()); diff != "" {
		t.Errorf("same configuration: events truth (-got, +want):\n%s", diff)
	}
	// No event reaches the outage's sensor while it lasts: every event
	// packet is written.
	var events uint64
	for _, e := range truth1.Events.Events {
		events += e.Packets
	}
	if last != total || total != cfg.Packets+events {
		t.Errorf("progress ended at %d of %d, want %d ordinary + %d of events", last, total, cfg.Packets, events)
	}
	for _, key := range []string{`"kind": "mirai-spread"`, `"port": "5555/TCP"`, `"per_sensor":`, `"quiet_weeks":`, `"addresses":`, `"dropped":`} {
		if !strings.Contains(j1.String(), key) {
			t.Errorf("EventsTruth.WriteJSON() lacks %s", key)
		}
	}
}

// TestQuietWeeks: whole weeks from the start with no event in them.
func TestQuietWeeks(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Packets = 20_000
	cfg.Duration = 25 * 24 * time.Hour // three whole weeks and a bit
	cfg.Events = []Event{{Kind: EventSensorOutage, Start: cfg.Start.Add(8 * 24 * time.Hour), Duration: time.Hour, Sensor: "jp-tokyo-1"}}
	_, truth := simulate(t, cfg)
	var got []int
	for _, w := range truth.Events.QuietWeeks {
		got = append(got, w.Index)
		if w.End.Sub(w.Start) != 7*24*time.Hour || !w.Start.Equal(cfg.Start.Add(time.Duration(w.Index)*7*24*time.Hour)) {
			t.Errorf("quiet week %+v is not the week %d from the start", w, w.Index)
		}
	}
	if diff := cmp.Diff(got, []int{0, 2}); diff != "" {
		t.Errorf("quiet weeks (-got, +want):\n%s", diff)
	}
	cfg.Events = []Event{}
	_, truth = simulate(t, cfg)
	if truth.Events == nil || len(truth.Events.QuietWeeks) != 3 {
		t.Errorf("no event: quiet weeks %+v, want the three whole weeks", truth.Events)
	}
	cfg.Events = nil
	if _, truth = simulate(t, cfg); truth.Events != nil {
		t.Errorf("Events nil: truth has events %+v, want none", truth.Events)
	}
}

// TestWeeklyFactor: with a steady population and no daily cycle, a
// weekday's packets over a weekend day's are the factor.
func TestWeeklyFactor(t *testing.T) {
	t.Parallel()
	for _, factor := range []float64{1, 1.5, 3} {
		cfg := testConfig()
		cfg.Campaigns = false
		cfg.DiurnalFactor = 1
		cfg.WeeklyFactor = factor
		cfg.Duration = 28 * 24 * time.Hour
		cfg.Packets = 200_000
		var days weekdays
		if _, err := Run(t.Context(), cfg, &days, nil); err != nil {
			t.Fatal(err)
		}
		weekend := float64(days[time.Saturday] + days[time.Sunday])
		r := (float64(cfg.Packets) - weekend) / 20 / (weekend / 8) // 20 weekdays, 8 weekend days
		if math.Abs(r-factor) > 0.05*factor {
			t.Errorf("WeeklyFactor %v: weekday / weekend-day packets = %.3f", factor, r)
		}
	}
}

func TestEventValidate(t *testing.T) {
	t.Parallel()
	start := testStart.Add(24 * time.Hour)
	ok := func(k EventKind) Event {
		e := Event{Kind: k, Start: start, Duration: time.Hour, Port: 8443}
		if eventDefaults[k].oneSensor {
			e.Sensor = "jp-tokyo-1"
		}
		if k == EventSensorOutage {
			e.Port = 0
		}
		return e
	}
	tests := []struct {
		name    string
		event   Event
		wantErr string
	}{
		{name: "no kind", event: Event{Start: start, Duration: time.Hour}, wantErr: "event #1 (): kind is required"},
		{name: "unknown kind", event: Event{Kind: "flood", Start: start, Duration: time.Hour}, wantErr: `unknown kind "flood" (want one of port-campaign, fleet-surge, mirai-spread, sensor-outage, backscatter-burst, research-scan)`},
		{name: "no start", event: func() Event { e := ok(EventFleetSurge); e.Start = time.Time{}; return e }(), wantErr: "start is required"},
		{name: "no duration", event: func() Event { e := ok(EventFleetSurge); e.Duration = 0; return e }(), wantErr: "duration must be positive"},
		{name: "before the period", event: func() Event { e := ok(EventFleetSurge); e.Start = testStart.Add(-time.Hour); return e }(), wantErr: "is not within the period"},
		{name: "past the period", event: func() Event { e := ok(EventFleetSurge); e.Duration = 90 * 24 * time.Hour; return e }(), wantErr: "is not within the period"},
		{name: "campaign without sensor", event: func() Event { e := ok(EventPortCampaign); e.Sensor = ""; return e }(), wantErr: "port-campaign needs the sensor it happens at"},
		{name: "unknown sensor", event: func() Event { e := ok(EventSensorOutage); e.Sensor = "xx-nowhere-1"; return e }(), wantErr: `sensor "xx-nowhere-1" is not in the fleet`},
		{name: "campaign with group", event: func() Event { e := ok(EventPortCampaign); e.Group = "Japan"; return e }(), wantErr: "takes a sensor, not a group"},
		{name: "surge with sensor", event: func() Event { e := ok(EventFleetSurge); e.Sensor = "jp-tokyo-1"; return e }(), wantErr: "it takes no sensor"},
		{name: "unknown group", event: func() Event { e := ok(EventResearchScan); e.Group = "Mars"; return e }(), wantErr: `group "Mars" is not in the fleet (groups: Japan, overseas)`},
		{name: "no port", event: func() Event { e := ok(EventMiraiSpread); e.Port = 0; return e }(), wantErr: "port is required"},
		{name: "backscatter default port", event: func() Event { e := ok(EventBackscatterBurst); e.Port = 0; return e }()},
		{name: "udp mirai", event: func() Event { e := ok(EventMiraiSpread); e.Protocol = "udp"; return e }(), wantErr: `protocol "udp": want tcp`},
		{name: "sctp", event: func() Event { e := ok(EventPortCampaign); e.Protocol = "sctp"; return e }(), wantErr: `protocol "sctp": want tcp or udp`},
		{name: "negative rate", event: func() Event { e := ok(EventFleetSurge); e.Rate = -1; return e }(), wantErr: "rate must be positive"},
		{name: "NaN rate", event: func() Event { e := ok(EventFleetSurge); e.Rate = math.NaN(); return e }(), wantErr: "rate must be positive"},
		{name: "negative sources", event: func() Event { e := ok(EventFleetSurge); e.Sources = -3; return e }(), wantErr: "sources must be positive"},
		{name: "two victims", event: func() Event { e := ok(EventBackscatterBurst); e.Sources = 2; return e }(), wantErr: "comes from one victim"},
		{name: "outage with a port", event: func() Event { e := ok(EventSensorOutage); e.Port = 23; return e }(), wantErr: "sensor-outage takes no port, protocol, rate or sources"},
	}
	for _, k := range EventKinds() {
		tests = append(tests, struct {
			name    string
			event   Event
			wantErr string
		}{name: "ok " + string(k), event: ok(k)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Events = []Event{tt.event}
			err := cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
	// A group without IPv4 sensors cannot take packets.
	f := &fleet.Fleet{Sensors: []fleet.Sensor{
		{Name: "v4", Group: "a", Addresses: []string{"198.18.0.1"}},
		{Name: "v6", Group: "b", Addresses: []string{"2001:db8::/64"}},
	}}
	cfg := testConfig()
	cfg.Fleet = f
	cfg.Events = []Event{{Kind: EventFleetSurge, Start: start, Duration: time.Hour, Port: 23, Group: "b"}}
	if _, err := Run(t.Context(), cfg, newPcapWriter(new(bytes.Buffer)), nil); err == nil || !strings.Contains(err.Error(), `group "b" has no sensor monitoring IPv4`) {
		t.Errorf("Run() error = %v, want a group without IPv4", err)
	}
	cfg.Events = []Event{{Kind: EventPortCampaign, Start: start, Duration: time.Hour, Port: 23, Sensor: "v6"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `sensor "v6" monitors no IPv4 address`) {
		t.Errorf("Validate() = %v, want an IPv6-only sensor refused", err)
	}
}

func TestLoadEvents(t *testing.T) {
	t.Parallel()
	yml := `
- kind: port-campaign
  start: 2024-07-08T09:00:00Z
  duration: 6h
  sensor: jp-tokyo-1
  port: 9443
  rate: 0.1
- kind: sensor-outage
  start: 2024-07-10T00:00:00Z
  duration: 90m
  sensor: us-sjc-1
`
	got, err := LoadEvents(strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Kind: EventPortCampaign, Start: time.Date(2024, 7, 8, 9, 0, 0, 0, time.UTC), Duration: 6 * time.Hour, Sensor: "jp-tokyo-1", Port: 9443, Rate: 0.1},
		{Kind: EventSensorOutage, Start: time.Date(2024, 7, 10, 0, 0, 0, 0, time.UTC), Duration: 90 * time.Minute, Sensor: "us-sjc-1"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("LoadEvents() (-got, +want):\n%s", diff)
	}
	if _, err := LoadEvents(strings.NewReader("- kind: fleet-surge\n  prot: 23\n")); err == nil || !strings.Contains(err.Error(), "field prot not found") {
		t.Errorf("LoadEvents(unknown key) error = %v", err)
	}
	if got, err := LoadEvents(strings.NewReader("")); err != nil || got == nil || len(got) != 0 {
		t.Errorf("LoadEvents(empty) = %v, %v; want an empty list", got, err)
	}
}

// weekdays counts the packets written on each day of the week (UTC).
type weekdays [7]uint64

func (d *weekdays) WritePacket(ts int64, _ []byte) error {
	d[time.Unix(0, ts).UTC().Weekday()]++
	return nil
}
