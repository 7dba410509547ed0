package storetest

import (
	"cmp"
	"path/filepath"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// stored is one simulated packet as the reference model sees it.
type stored struct {
	sensor, group, port, src string
	time                     time.Time
	tags                     record.Tags
}

// testQuestionsTruth stores a simulated capture spanning four months and
// checks every question against the simulator's ground truth, against
// `nightjar analyze` on the same capture, and — for what the truth does
// not count (days, hours, distinct ports per source, distinct sources per
// port) — against a direct count over the stored records. Each question is
// asked for the whole capture twice: as whole days (the rollups answer)
// and widened by 30 minutes on each side (the raw records answer).
//
// With crash, the capture is stored as the collector does — appended and
// flushed with its import, without Sync — then one more batch is appended
// and not flushed, the store crashes and is opened again: the import must
// be there, the unflushed batch must not, and after a Sync every answer
// must be the same as without the crash.
func testQuestionsTruth(t *testing.T, s store.Store, crash Crasher) {
	defer func() { s.Close() }()
	ctx := t.Context()
	cfg := simulate.DefaultConfig()
	cfg.Seed = 7
	cfg.Packets = 150_000
	cfg.Sources = 3_000
	cfg.Start = time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC)
	cfg.Duration = 80 * 24 * time.Hour // June to September
	cfg.Fleet = simulate.DefaultFleet()
	path := filepath.Join(t.TempDir(), "sim.pcap")
	w, err := capfile.Create(path, uint32(decode.LinkEthernet))
	if err != nil {
		t.Fatal(err)
	}
	truth, err := simulate.Run(ctx, cfg, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a := analyze.New(analyze.Config{Top: 1 << 20, Sources: 1 << 30}, cfg.Fleet)
	if err := a.ReadFile(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	var model []stored
	if crash == nil {
		model = storeCapture(t, s, cfg.Fleet, path)
	} else {
		s, model = storeCaptureAndCrash(t, s, cfg.Fleet, path, crash)
	}

	whole, err := period.Range(cfg.Start, cfg.Start.Add(cfg.Duration))
	if err != nil {
		t.Fatal(err)
	}
	widened, _ := period.Range(whole.Start.Add(-30*time.Minute), whole.End.Add(30*time.Minute))
	groupOf := map[string]string{}
	groupSensors := map[string]int{}
	for _, sen := range cfg.Fleet.Sensors {
		groupOf[sen.Name] = sen.Group
		groupSensors[sen.Group]++
	}

	t.Run("port and tag hours", func(t *testing.T) { testActivity(t, s, model, truth) })

	t.Run("group top ports", func(t *testing.T) {
		want := map[string]map[string]uint64{"": {}}
		for name, st := range truth.Sensors {
			g := groupOf[name]
			if want[g] == nil {
				want[g] = map[string]uint64{}
			}
			for port, n := range st.Ports {
				want[g][port] += n
				want[""][port] += n
			}
		}
		for _, p := range []period.Period{whole, widened} {
			ans, err := s.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: p, N: portcount.Slots})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]uint64{}
			for _, gp := range append(slices.Clone(ans.Groups), ans.Fleet) {
				sensors := len(cfg.Fleet.Sensors)
				if gp.Group != "" {
					sensors = groupSensors[gp.Group]
				}
				if gp.Sensors != sensors {
					t.Errorf("%s: group %q has %d sensors, want %d", p, gp.Group, gp.Sensors, sensors)
				}
				got[gp.Group] = map[string]uint64{}
				for i, rp := range gp.Ports {
					got[gp.Group][rp.Port] = rp.Packets
					if rp.Rank != i+1 || rp.AvgPacketsPerSensor != float64(rp.Packets)/float64(sensors) || rp.PreviousRank != 0 {
						t.Errorf("%s: group %q: %+v; want rank %d, avg packets/%d, no previous rank", p, gp.Group, rp, i+1, sensors)
					}
					if i > 0 && portOrder(gp.Ports[i-1].Port, gp.Ports[i-1].Packets, rp.Port, rp.Packets) >= 0 {
						t.Errorf("%s: group %q: %s ranked after %s", p, gp.Group, rp.Port, gp.Ports[i-1].Port)
					}
				}
			}
			if diff := gocmp.Diff(got, want); diff != "" {
				t.Errorf("GroupTopPorts(%s) packets per group and port (-got, +truth):\n%s", p, diff)
			}
		}
		// August, ranked against July: the model's rankings of each month.
		aug, _ := period.Parse("2024-08")
		ans, err := s.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: aug, N: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, gp := range append(slices.Clone(ans.Groups), ans.Fleet) {
			in := func(p period.Period) []portcount.Count {
				counts := map[string]uint64{}
				for _, r := range model {
					if p.Contains(r.time) && (gp.Group == "" || r.group == gp.Group) {
						counts[r.port]++
					}
				}
				return rankCounts(counts)
			}
			prev := map[string]int{}
			for i, c := range in(aug.Previous()) {
				prev[c.Port] = i + 1
			}
			var want, got []store.AvgRankedPort
			for i, c := range in(aug)[:10] {
				want = append(want, store.AvgRankedPort{Rank: i + 1, Port: c.Port, Packets: c.Packets, PreviousRank: prev[c.Port]})
			}
			for _, rp := range gp.Ports {
				rp.AvgPacketsPerSensor = 0
				got = append(got, rp)
			}
			if diff := gocmp.Diff(got, want); diff != "" {
				t.Errorf("GroupTopPorts(2024-08) group %q (-got, +model):\n%s", gp.Group, diff)
			}
		}
	})

	t.Run("group averages", func(t *testing.T) {
		ans, err := s.GroupAverages(ctx, store.GroupAveragesQuery{Period: whole})
		if err != nil {
			t.Fatal(err)
		}
		// Months equal analyze's groups (the capture's months are those of
		// the period here).
		type groupView struct {
			Name    string
			Sensors int
			Packets uint64
			Months  []store.GroupMonth
		}
		var got, want []groupView
		for _, g := range ans {
			got = append(got, groupView{g.Name, g.Sensors, g.Packets, g.Months})
		}
		for _, g := range rep.Groups {
			v := groupView{Name: g.Name, Sensors: g.Sensors, Packets: g.Packets}
			for _, m := range g.Months {
				v.Months = append(v.Months, store.GroupMonth{Month: m.Month, AvgPacketsPerSensor: m.AvgPacketsPerSensor})
			}
			want = append(want, v)
		}
		if diff := gocmp.Diff(got, want); diff != "" {
			t.Errorf("GroupAverages() months (-store, +analyze):\n%s", diff)
		}
		// And the truth: each sensor's months summed per group.
		for _, g := range ans {
			for _, m := range g.Months {
				var sum uint64
				for name, st := range truth.Sensors {
					if groupOf[name] == g.Name {
						sum += st.Months[m.Month]
					}
				}
				if m.AvgPacketsPerSensor != float64(sum)/float64(truth.Groups[g.Name].Sensors) {
					t.Errorf("group %s, %s: average %v, truth %d packets over %d sensors", g.Name, m.Month, m.AvgPacketsPerSensor, sum, truth.Groups[g.Name].Sensors)
				}
			}
		}
		// Days: the model's count per group and day.
		perDay := map[string]map[string]uint64{}
		for _, r := range model {
			if perDay[r.group] == nil {
				perDay[r.group] = map[string]uint64{}
			}
			perDay[r.group][r.time.Format(time.DateOnly)]++
		}
		for _, g := range ans {
			if len(g.Days) != 80 {
				t.Errorf("group %s: %d days, want 80", g.Name, len(g.Days))
			}
			got, want := map[string]float64{}, map[string]float64{}
			for _, d := range g.Days {
				if d.AvgPacketsPerSensor != 0 {
					got[d.Day] = d.AvgPacketsPerSensor
				}
			}
			for day, n := range perDay[g.Name] {
				want[day] = float64(n) / float64(groupSensors[g.Name])
			}
			if diff := gocmp.Diff(got, want); diff != "" {
				t.Errorf("group %s: daily averages (-store, +model):\n%s", g.Name, diff)
			}
		}
	})

	t.Run("port series", func(t *testing.T) {
		ports := []string{"23/TCP", "445/TCP", "ICMP", "53/UDP"}
		for _, tt := range []struct {
			p   period.Period
			res store.Resolution
			by  store.By
		}{
			{whole, store.Day, store.BySensor},
			{whole, store.Month, store.ByGroup},
			{whole, store.Hour, store.ByFleet},
			{widened, store.Hour, store.ByGroup},
		} {
			ans, err := s.PortSeries(ctx, store.PortSeriesQuery{Period: tt.p, Resolution: tt.res, Ports: ports, By: tt.by})
			if err != nil {
				t.Fatal(err)
			}
			buckets, _ := store.Buckets(tt.p, tt.res)
			// key: sensor or group or "", port, bucket start.
			type key struct {
				owner, port string
				bucket      time.Time
			}
			got, want := map[key]uint64{}, map[key]uint64{}
			sums := map[string]uint64{}
			for _, se := range ans.Series {
				owner := se.Sensor + se.Group
				if tt.by == store.BySensor {
					owner = se.Sensor
				}
				for i, n := range se.Packets {
					if n > 0 {
						got[key{owner, se.Port, ans.Buckets[i]}] = n
					}
					sums[owner+" "+se.Port] += n
				}
			}
			for _, r := range model {
				if !slices.Contains(ports, r.port) {
					continue
				}
				owner := map[store.By]string{store.BySensor: r.sensor, store.ByGroup: r.group, store.ByFleet: ""}[tt.by]
				want[key{owner, r.port, buckets[store.BucketOf(buckets, r.time)].Start}]++
			}
			if len(ans.Buckets) != len(buckets) || len(ans.Series) == 0 {
				t.Errorf("PortSeries(%s, %s, by %s): %d buckets and %d series", tt.p, tt.res, tt.by, len(ans.Buckets), len(ans.Series))
			}
			if diff := gocmp.Diff(got, want); diff != "" {
				t.Errorf("PortSeries(%s, %s, by %s) (-store, +model):\n%s", tt.p, tt.res, tt.by, diff)
			}
			if tt.by == store.BySensor { // totals equal the truth
				for name, st := range truth.Sensors {
					for _, port := range ports {
						if sums[name+" "+port] != st.Ports[port] {
							t.Errorf("%s %s: series sums to %d, truth %d", name, port, sums[name+" "+port], st.Ports[port])
						}
					}
				}
			}
		}
	})

	t.Run("top sources", func(t *testing.T) {
		ports := map[string]map[string]bool{}
		for _, r := range model {
			if ports[r.src] == nil {
				ports[r.src] = map[string]bool{}
			}
			ports[r.src][r.port] = true
		}
		for _, p := range []period.Period{whole, widened} {
			ans, err := s.TopSources(ctx, store.TopSourcesQuery{Period: p, N: len(truth.Sources) + 10})
			if err != nil {
				t.Fatal(err)
			}
			// Order, packets, tags, sensors, first and last seen: analyze.
			type sourceView struct {
				IP                  string
				Packets             uint64
				Tags                []string
				Sensors             int
				FirstSeen, LastSeen time.Time
			}
			var got, want []sourceView
			for _, src := range ans {
				got = append(got, sourceView{src.IP, src.Packets, src.Tags, src.Sensors, src.FirstSeen, src.LastSeen})
				if !src.PortsExact || src.Ports != uint64(len(ports[src.IP])) {
					t.Errorf("%s: source %s: %d ports (exact %v), model %d", p, src.IP, src.Ports, src.PortsExact, len(ports[src.IP]))
				}
				if tr := truth.Sources[src.IP]; tr == nil || tr.Packets != src.Packets || tr.Sensors != src.Sensors || !slices.Equal(tr.Tags, src.Tags) {
					t.Errorf("%s: source %s: %d packets, %d sensors, tags %v; truth %+v", p, src.IP, src.Packets, src.Sensors, src.Tags, tr)
				}
			}
			for _, src := range rep.Sources {
				want = append(want, sourceView{src.IP, src.Packets, src.Tags, src.Sensors, src.FirstSeen, src.LastSeen})
			}
			if diff := gocmp.Diff(got, want); diff != "" {
				t.Errorf("TopSources(%s) (-store, +analyze):\n%s", p, diff)
			}
		}
	})

	t.Run("port sources", func(t *testing.T) {
		type portView struct {
			Packets, Sources, Mirai uint64
		}
		want := map[string]portView{}
		srcs := map[string]map[string]bool{}
		for _, r := range model {
			v := want[r.port]
			v.Packets++
			if r.tags.Has(record.TagMirai) {
				v.Mirai++
			}
			want[r.port] = v
			if srcs[r.port] == nil {
				srcs[r.port] = map[string]bool{}
			}
			srcs[r.port][r.src] = true
		}
		for port, set := range srcs {
			v := want[port]
			v.Sources = uint64(len(set))
			want[port] = v
		}
		for _, p := range []period.Period{whole, widened} {
			ans, err := s.PortSources(ctx, store.PortSourcesQuery{Period: p, N: portcount.Slots})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]portView{}
			var mirai uint64
			for i, ps := range ans {
				got[ps.Port] = portView{ps.Packets, ps.Sources, ps.Mirai}
				mirai += ps.Mirai
				if ps.Rank != i+1 || !ps.SourcesExact || ps.MiraiShare != float64(ps.Mirai)/float64(ps.Packets) {
					t.Errorf("%s: %+v: want rank %d, exact sources, mirai share mirai/packets", p, ps, i+1)
				}
			}
			if diff := gocmp.Diff(got, want); diff != "" {
				t.Errorf("PortSources(%s) (-store, +model):\n%s", p, diff)
			}
			if mirai != truth.Tags["mirai"] {
				t.Errorf("PortSources(%s): %d mirai packets, truth %d", p, mirai, truth.Tags["mirai"])
			}
		}
	})

	t.Run("tag counts", func(t *testing.T) {
		for _, p := range []period.Period{whole, widened} {
			ans, err := s.TagCounts(ctx, store.TagCountsQuery{Period: p})
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(ans.Tags, rep.Tags); diff != "" {
				t.Errorf("TagCounts(%s) fleet (-store, +analyze):\n%s", p, diff)
			}
			got, want := map[string]map[string]uint64{}, map[string]map[string]uint64{}
			for _, st := range ans.Sensors {
				got[st.Sensor] = nonZero(st.Tags)
			}
			for name, st := range truth.Sensors {
				want[name] = nonZero(st.Tags)
			}
			if diff := gocmp.Diff(got, want); diff != "" {
				t.Errorf("TagCounts(%s) per sensor (-store, +truth):\n%s", p, diff)
			}
			if diff := gocmp.Diff(nonZero(ans.Tags), nonZero(truth.Tags)); diff != "" {
				t.Errorf("TagCounts(%s) fleet (-store, +truth):\n%s", p, diff)
			}
		}
	})
}

// storeCapture stores a capture as nightjar ingest does and returns the
// reference model of its records.
func storeCapture(t *testing.T, s store.Store, f *fleet.Fleet, path string) []stored {
	t.Helper()
	recs, sensors, model := readCapture(t, s, f, path)
	appendBatches(t, s, recs, sensors)
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return model
}

// storeCaptureAndCrash appends a capture and flushes it with its import,
// appends its first records again without flushing, crashes s and opens the
// store again (see testQuestionsTruth), then syncs. It returns the store
// opened again and the reference model of the capture.
func storeCaptureAndCrash(t *testing.T, s store.Store, f *fleet.Fleet, path string, crash Crasher) (store.Store, []stored) {
	t.Helper()
	ctx := t.Context()
	recs, sensors, model := readCapture(t, s, f, path)
	appendBatches(t, s, recs, sensors)
	imp := store.Import{Key: "capture-key", Path: path, Frames: uint64(len(recs)), Packets: uint64(len(recs)),
		Imported: time.Date(2024, 10, 1, 12, 0, 0, 0, time.UTC)}
	if err := s.Flush(ctx, imp); err != nil {
		t.Fatal(err)
	}
	appendBatches(t, s, recs[:1000], sensors[:1000]) // lost in the crash
	s = crash(t, s)
	got, ok, err := s.Imported(ctx, imp.Key)
	if err != nil || !ok {
		t.Fatalf("Imported(%q) after the crash = %v, %v; want the flushed import", imp.Key, ok, err)
	}
	if diff := gocmp.Diff(got, imp); diff != "" {
		t.Errorf("Imported() after the crash (-got, +want):\n%s", diff)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return s, model
}

// readCapture decodes a capture as nightjar ingest does (after storing the
// fleet's sensors) and returns its records, their sensor IDs and the
// reference model of its records.
func readCapture(t *testing.T, s store.Store, f *fleet.Fleet, path string) ([]record.Record, []int32, []stored) {
	t.Helper()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, f.Sensors)
	if err != nil {
		t.Fatal(err)
	}
	l := newLoader(t, f)
	r, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var p capfile.Packet
	for r.Next(&p) == nil {
		if err := l.frame(p.Time, decode.LinkType(p.LinkType), p.Data); err != nil {
			t.Fatal(err)
		}
	}
	recs, sensors, err := l.done(ids)
	if err != nil {
		t.Fatal(err)
	}
	model := make([]stored, len(recs))
	for i, rec := range recs {
		sen := f.Sensors[l.sensors[i]]
		model[i] = stored{sensor: sen.Name, group: sen.Group, port: rec.PortLabel(), src: rec.Src.String(),
			time: time.Unix(0, rec.Time).UTC(), tags: rec.Tags}
	}
	return recs, sensors, model
}

// appendBatches appends records in batches, as ingest does.
func appendBatches(t *testing.T, s store.Store, recs []record.Record, sensors []int32) {
	t.Helper()
	for len(recs) > 0 {
		n := min(len(recs), 50_000)
		if err := s.Append(t.Context(), recs[:n], sensors[:n]); err != nil {
			t.Fatal(err)
		}
		recs, sensors = recs[n:], sensors[n:]
	}
}

func rankCounts(counts map[string]uint64) []portcount.Count {
	out := make([]portcount.Count, 0, len(counts))
	for port, n := range counts {
		out = append(out, portcount.Count{Port: port, Packets: n})
	}
	portcount.Sort(out)
	return out
}

// portOrder compares two ranked ports as portcount.Sort does.
func portOrder(port1 string, packets1 uint64, port2 string, packets2 uint64) int {
	if c := cmp.Compare(packets2, packets1); c != 0 {
		return c
	}
	return cmp.Compare(port1, port2)
}

func nonZero(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, n := range m {
		if n > 0 {
			out[k] = n
		}
	}
	return out
}
