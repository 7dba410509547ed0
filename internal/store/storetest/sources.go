package storetest

import (
	"cmp"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runSourceHistory runs the conformance tests of SourceHistory.
func runSourceHistory(t *testing.T, open Opener) {
	t.Run("source history on a small month", func(t *testing.T) { testSourceHistorySmall(t, open(t)) })
	t.Run("source history of a simulated capture", func(t *testing.T) { testSourceHistoryTruth(t, open(t)) })
}

// testSourceHistorySmall checks the histories of storeSmallMonth's
// sources, worked out by hand.
func testSourceHistorySmall(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	storeSmallMonth(t, s)
	at := func(s string) *time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &tm
	}
	day := func(d string, packets, ports uint64, sensors int, tags []string, first, last string) store.SourceDay {
		return store.SourceDay{Day: d, Packets: packets, Ports: ports, Sensors: sensors, Tags: tags, FirstSeen: *at(first), LastSeen: *at(last)}
	}
	mirai := []string{"mirai"}
	// B: 23/TCP at jp-1 on July 1 and at us-1 on July 2, 2323/TCP at jp-1
	// on July 3. C: 445/TCP at jp-1 and 23/TCP at us-1, both on July 2.
	b := store.SourceHistory{IP: "192.0.2.3", Packets: 7, Ports: 2, PortsExact: true, Tags: mirai, Sensors: 2, SensorNames: []string{"jp-1", "us-1"},
		FirstSeen: at("2024-07-01T00:10:00Z"), LastSeen: at("2024-07-03T12:00:00Z"), Days: []store.SourceDay{
			day("2024-07-01", 4, 1, 1, mirai, "2024-07-01T00:10:00Z", "2024-07-01T00:10:03Z"),
			day("2024-07-02", 2, 1, 1, mirai, "2024-07-02T05:30:00Z", "2024-07-02T05:30:01Z"),
			day("2024-07-03", 1, 1, 1, mirai, "2024-07-03T12:00:00Z", "2024-07-03T12:00:00Z"),
		}}
	c := store.SourceHistory{IP: "192.0.2.4", Packets: 2, Ports: 2, PortsExact: true, Tags: []string{}, Sensors: 2, SensorNames: []string{"jp-1", "us-1"},
		FirstSeen: at("2024-07-02T05:00:00Z"), LastSeen: at("2024-07-02T06:45:00Z"), Days: []store.SourceDay{
			day("2024-07-02", 2, 2, 2, []string{}, "2024-07-02T05:00:00Z", "2024-07-02T06:45:00Z"),
		}}
	empty := func(ip string) store.SourceHistory {
		return store.SourceHistory{IP: ip, PortsExact: true, Tags: []string{}, SensorNames: []string{}, Days: []store.SourceDay{}}
	}
	// B's packet at us-1 at 05:30:01 is after the end of the range.
	bMorning := store.SourceHistory{IP: "192.0.2.3", Packets: 1, Ports: 1, PortsExact: true, Tags: mirai, Sensors: 1, SensorNames: []string{"us-1"},
		FirstSeen: at("2024-07-02T05:30:00Z"), LastSeen: at("2024-07-02T05:30:00Z"), Days: []store.SourceDay{
			day("2024-07-02", 1, 1, 1, mirai, "2024-07-02T05:30:00Z", "2024-07-02T05:30:00Z"),
		}}
	july, _ := period.Parse("2024-07")
	julyRaw := mustRange(t, "2024-07-01T00:05:00Z", "2024-08-01T00:05:00Z")
	tests := []struct {
		ip   string
		p    period.Period
		want store.SourceHistory
	}{
		{"192.0.2.3", july, b},
		{"192.0.2.3", julyRaw, b},
		{"192.0.2.4", july, c},
		{"192.0.2.4", julyRaw, c},
		{"192.0.2.3", mustRange(t, "2024-07-02T00:00:00Z", "2024-07-02T05:30:01Z"), bMorning},
		{"192.0.2.1", july, empty("192.0.2.1")},       // June only
		{"198.51.100.7", july, empty("198.51.100.7")}, // never seen
		{"2001:db8::7", july, empty("2001:db8::7")},
		{"::ffff:192.0.2.3", july, empty("::ffff:192.0.2.3")}, // an IPv6 address, not B
	}
	for _, tt := range tests {
		got, err := s.SourceHistory(t.Context(), store.SourceHistoryQuery{Period: tt.p, IP: netip.MustParseAddr(tt.ip)})
		if err != nil {
			t.Errorf("SourceHistory(%s, %s): %v", tt.ip, tt.p, err)
			continue
		}
		if diff := gocmp.Diff(got, tt.want); diff != "" {
			t.Errorf("SourceHistory(%s, %s) (-got, +want):\n%s", tt.ip, tt.p, diff)
		}
	}
	if _, err := s.SourceHistory(ctx, store.SourceHistoryQuery{Period: july}); err == nil {
		t.Error("SourceHistory(no address) succeeded, want an error")
	}
}

// testSourceHistoryTruth stores a simulated capture across a month's end
// and checks the histories of the busiest sources, of IPv6 ones and of a
// few quiet ones against a count of the stored records and the simulator's
// ground truth: for the whole capture (the rollups answer), widened by 30
// minutes (raw records), and for a range that starts and ends mid-day.
func testSourceHistoryTruth(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	cfg := simulate.DefaultConfig()
	cfg.Seed = 11
	cfg.Packets = 40_000
	cfg.Sources = 1_500
	cfg.Start = time.Date(2024, 7, 20, 0, 0, 0, 0, time.UTC)
	cfg.Duration = 20 * 24 * time.Hour
	cfg.Fleet = simulate.DefaultFleet()
	path, truth := simulateCapture(t, cfg)
	model := storeCapture(t, s, cfg.Fleet, path)
	var order []string // sensor names in ID order
	for _, sen := range cfg.Fleet.Sensors {
		order = append(order, sen.Name)
	}

	// The sources to check: the 5 busiest, 3 IPv6 ones, every 200th.
	packets := map[string]int{}
	for _, r := range model {
		packets[r.src]++
	}
	var ips []string
	for ip := range packets {
		ips = append(ips, ip)
	}
	slices.SortFunc(ips, func(a, b string) int {
		if packets[a] != packets[b] {
			return packets[b] - packets[a]
		}
		return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b))
	})
	check := slices.Clone(ips[:5])
	for i, ip := range ips {
		if i%200 == 0 || (netip.MustParseAddr(ip).Is6() && len(check) < 8) {
			check = append(check, ip)
		}
	}

	whole, _ := period.Range(cfg.Start, cfg.Start.Add(cfg.Duration))
	widened, _ := period.Range(whole.Start.Add(-30*time.Minute), whole.End.Add(30*time.Minute))
	middle, _ := period.Range(cfg.Start.Add(5*24*time.Hour+7*time.Hour), cfg.Start.Add(12*24*time.Hour+15*time.Hour))
	for _, ip := range check {
		for _, p := range []period.Period{whole, widened, middle} {
			got, err := s.SourceHistory(ctx, store.SourceHistoryQuery{Period: p, IP: netip.MustParseAddr(ip)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(got, modelHistory(model, order, ip, p)); diff != "" {
				t.Errorf("SourceHistory(%s, %s) (-store, +model):\n%s", ip, p, diff)
			}
			if p == whole {
				tr := truth.Sources[ip]
				if tr == nil || tr.Packets != got.Packets || tr.Sensors != got.Sensors || !slices.Equal(tr.Tags, got.Tags) {
					t.Errorf("SourceHistory(%s): %d packets, %d sensors, tags %v; truth %+v", ip, got.Packets, got.Sensors, got.Tags, tr)
				}
			}
		}
	}
}

// simulateCapture writes the capture cfg simulates to a temporary file and
// returns its path and the simulator's ground truth.
func simulateCapture(t *testing.T, cfg simulate.Config) (string, *simulate.Truth) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sim.pcap")
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
	return path, truth
}

// modelHistory counts the history of ip in p from the reference model.
func modelHistory(model []stored, order []string, ip string, p period.Period) store.SourceHistory {
	out := store.SourceHistory{IP: ip, PortsExact: true, SensorNames: []string{}, Days: []store.SourceDay{}}
	var (
		tags    record.Tags
		ports   = map[string]bool{}
		sensors = map[string]bool{}
	)
	type dayModel struct {
		ports, sensors map[string]bool
		tags           record.Tags
	}
	days := map[string]*dayModel{}
	for _, r := range model {
		if r.src != ip || !p.Contains(r.time) {
			continue
		}
		out.Packets++
		ports[r.port], sensors[r.sensor], tags = true, true, tags|r.tags
		if out.FirstSeen == nil || r.time.Before(*out.FirstSeen) {
			out.FirstSeen = &r.time
		}
		if out.LastSeen == nil || r.time.After(*out.LastSeen) {
			out.LastSeen = &r.time
		}
		d := r.time.Format(time.DateOnly)
		i := slices.IndexFunc(out.Days, func(sd store.SourceDay) bool { return sd.Day == d })
		if i < 0 {
			i = len(out.Days)
			out.Days = append(out.Days, store.SourceDay{Day: d, FirstSeen: r.time, LastSeen: r.time})
			days[d] = &dayModel{ports: map[string]bool{}, sensors: map[string]bool{}}
		}
		sd, dm := &out.Days[i], days[d]
		sd.Packets++
		dm.ports[r.port], dm.sensors[r.sensor], dm.tags = true, true, dm.tags|r.tags
		sd.FirstSeen, sd.LastSeen = minTime(sd.FirstSeen, r.time), maxTime(sd.LastSeen, r.time)
	}
	slices.SortFunc(out.Days, func(a, b store.SourceDay) int { return cmp.Compare(a.Day, b.Day) })
	for i := range out.Days {
		dm := days[out.Days[i].Day]
		out.Days[i].Ports, out.Days[i].Sensors, out.Days[i].Tags = uint64(len(dm.ports)), len(dm.sensors), namesOf(dm.tags)
	}
	for _, name := range order {
		if sensors[name] {
			out.SensorNames = append(out.SensorNames, name)
		}
	}
	out.Ports, out.Sensors, out.Tags = uint64(len(ports)), len(sensors), namesOf(tags)
	return out
}

func namesOf(tags record.Tags) []string {
	if names := tags.Names(); names != nil {
		return names
	}
	return []string{}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
