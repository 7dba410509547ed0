package simulate

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

var testStart = time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC)

// testConfig is a small capture spanning three UTC months.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Start = testStart
	cfg.Duration = 60 * 24 * time.Hour
	cfg.Packets = 200_000
	cfg.Sources = 5_000
	return cfg
}

// simulate runs cfg into an in-memory pcap.
func simulate(t testing.TB, cfg Config) ([]byte, *Truth) {
	t.Helper()
	var buf bytes.Buffer
	pw := newPcapWriter(&buf)
	truth, err := Run(t.Context(), cfg, pw, nil)
	if err != nil {
		t.Fatalf("Run() error: %v", err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), truth
}

func truthJSON(t *testing.T, tr *Truth) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tr.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRunDeterministic(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Packets = 50_000
	pcap1, truth1 := simulate(t, cfg)
	pcap2, truth2 := simulate(t, cfg)
	if !bytes.Equal(pcap1, pcap2) {
		t.Error("same seed: captures differ")
	}
	if diff := cmp.Diff(truthJSON(t, truth1), truthJSON(t, truth2)); diff != "" {
		t.Errorf("same seed: Run() truth (-got, +want):\n%s", diff)
	}
	cfg.Seed = 2
	pcap3, truth3 := simulate(t, cfg)
	if bytes.Equal(pcap1, pcap3) {
		t.Error("seeds 1 and 2 gave the same capture")
	}
	if bytes.Equal(truthJSON(t, truth1), truthJSON(t, truth3)) {
		t.Error("seeds 1 and 2 gave the same truth")
	}
}

// TestRunTruth decodes every frame with gopacket, checks checksums, time
// order and bounds, recounts everything and re-derives the tags with the
// oracle's own rules: the truth must match exactly.
func TestRunTruth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  func() Config
	}{
		{name: "default mix, three months", cfg: testConfig},
		{name: "short burst, two sources", cfg: func() Config {
			cfg := testConfig()
			cfg.Duration = 90 * time.Second
			cfg.Packets = 20_000
			cfg.Sources = 11
			return cfg
		}},
		{name: "only tricky classes", cfg: func() Config {
			cfg := testConfig()
			cfg.Mix = Mix{Unicornscan: 1, Spoofed: 1, Backscatter: 1, Masscan: 1, Mirai: 1}
			cfg.Sources = 50
			cfg.Campaigns = false
			return cfg
		}},
		{name: "single-address fleet", cfg: func() Config {
			cfg := testConfig()
			f := DefaultFleet()
			f.Sensors = f.Sensors[:1]
			cfg.Fleet = f
			cfg.Packets = 50_000
			return cfg
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg()
			pcap, got := simulate(t, cfg)
			f := cfg.Fleet
			if f == nil {
				f = DefaultFleet()
			}
			start, end := cfg.period()
			rc, err := recountCapture(pcap, f, time.Unix(0, start).UTC(), time.Unix(0, end).UTC(), false)
			if err != nil {
				t.Fatalf("decode capture: %v", err)
			}
			if rc.truth.Packets != cfg.Packets {
				t.Errorf("capture holds %d packets, want %d", rc.truth.Packets, cfg.Packets)
			}
			want := rc.truth
			opts := cmp.Options{
				cmpopts.IgnoreFields(Truth{}, "Seed", "Start", "End", "Kinds"),
				cmpopts.IgnoreFields(SourceTruth{}, "Kind"),
				cmpopts.EquateEmpty(),
			}
			if diff := cmp.Diff(got, want, opts); diff != "" {
				t.Errorf("Run() (-got, +want):\n%s", diff)
			}
			if got.Start != time.Unix(0, start).UTC() || got.End != time.Unix(0, end).UTC() || got.Seed != cfg.Seed {
				t.Errorf("Run() truth period %s..%s seed %d, want %s..%s seed %d", got.Start, got.End, got.Seed, cfg.Start, time.Unix(0, end).UTC(), cfg.Seed)
			}
			var kinds uint64
			for _, n := range got.Kinds {
				kinds += n
			}
			if kinds != cfg.Packets {
				t.Errorf("Run() truth kinds sum to %d, want %d", kinds, cfg.Packets)
			}
		})
	}
}

// TestSourceAddresses checks that sources are public unicast addresses and
// that a .0/.255 last octet or a reserved address only occurs in the
// spoofed-looking share.
func TestSourceAddresses(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Packets = 100_000
	_, truth := simulate(t, cfg)
	var reserved []netip.Prefix
	for _, s := range append(slices.Clone(reserved4), reserved6...) {
		reserved = append(reserved, netip.MustParsePrefix(s))
	}
	for _, s := range DefaultFleet().Sensors {
		reserved = append(reserved, s.Prefixes()...)
	}
	edge := 0
	for key, s := range truth.Sources {
		a := netip.MustParseAddr(key)
		spoofed := slices.Contains(s.Tags, "spoofed")
		if a.Is4() {
			if b := a.As4()[3]; b == 0 || b == 255 {
				edge++
				if !spoofed {
					t.Errorf("source %s ends in .0/.255 but is not tagged spoofed (%v)", a, s.Tags)
				}
			}
		} else if !netip.MustParsePrefix("2000::/3").Contains(a) {
			t.Errorf("IPv6 source %s is not global unicast", a)
		}
		for _, p := range reserved {
			if p.Contains(a) && !(s.Kind == "spoofed" && spoofed) {
				t.Errorf("source %s (%s) is in reserved or monitored prefix %s", a, s.Kind, p)
			}
		}
	}
	if edge == 0 {
		t.Error("no source ends in .0/.255: the spoofed-looking share is missing")
	}
}

// TestMix checks that each class's share of the packets is within
// tolerance of the configuration, from the decoded tags where a tag
// identifies the class one to one.
func TestMix(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	pcap, truth := simulate(t, cfg)
	rc, err := recountCapture(pcap, DefaultFleet(), cfg.Start, cfg.Start.Add(cfg.Duration), false)
	if err != nil {
		t.Fatal(err)
	}
	shares := cfg.Mix.shares()
	var sum float64
	for _, s := range shares {
		sum += s
	}
	n := float64(cfg.Packets)
	check := func(name string, got uint64, want float64) {
		t.Helper()
		w := want / sum
		if g := float64(got) / n; math.Abs(g-w) > 0.1*w+0.002 {
			t.Errorf("%s share = %.4f, want %.4f ± 10%%", name, g, w)
		}
	}
	for _, tag := range record.AllTags() {
		if rc.truth.Tags[tag.String()] == 0 {
			t.Errorf("no packet tagged %s", tag)
		}
	}
	check("mirai tag", rc.truth.Tags["mirai"], cfg.Mix.Mirai)
	check("zmap tag", rc.truth.Tags["zmap"], cfg.Mix.ZMap)
	check("masscan tag", rc.truth.Tags["masscan"], cfg.Mix.Masscan)
	check("nmap tag", rc.truth.Tags["nmap"], cfg.Mix.Nmap)
	check("IPv6 packets", rc.v6, cfg.Mix.IPv6)
	for k := range numKinds {
		check("class "+kind(k).String(), truth.Kinds[kind(k).String()], shares[k])
	}
	// Mirai's ports: 23 about 90% of the classic scanner's, 2323 about 10%.
	var p23, p2323 uint64
	for _, s := range rc.truth.Sensors {
		p23 += s.Ports["23/TCP"]
		p2323 += s.Ports["2323/TCP"]
	}
	if r := float64(p2323) / float64(p23); r < 0.05 || r > 0.3 {
		t.Errorf("2323/TCP : 23/TCP = %.3f, want about 0.1-0.2", r)
	}
	// Overseas sensors receive more than Japanese ones.
	if j, o := truth.Groups["Japan"].Packets, truth.Groups["overseas"].Packets; o <= j {
		t.Errorf("overseas packets %d <= Japan packets %d", o, j)
	}
}

// TestDiurnal checks the daily cycle: the peak hour's count over the
// trough hour's is the configured factor.
func TestDiurnal(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Campaigns = false // a steady population: the cycle alone shapes the rate
	cfg.Duration = 14 * 24 * time.Hour
	cfg.Packets = 300_000
	cfg.DiurnalFactor = 2
	cfg.PeakHour = 12.5 // the middle of hour 12
	pcap, _ := simulate(t, cfg)
	rc, err := recountCapture(pcap, DefaultFleet(), cfg.Start, cfg.Start.Add(cfg.Duration), false)
	if err != nil {
		t.Fatal(err)
	}
	peak, trough := float64(rc.hourOfDay[12]), float64(rc.hourOfDay[0])
	if r := peak / trough; math.Abs(r-cfg.DiurnalFactor) > 0.1*cfg.DiurnalFactor {
		t.Errorf("peak/trough hour = %.0f/%.0f = %.3f, want %.1f ± 10%%", peak, trough, r, cfg.DiurnalFactor)
	}
	if slices.Max(rc.hourOfDay[:]) != rc.hourOfDay[12] && slices.Max(rc.hourOfDay[:]) > rc.hourOfDay[12]*102/100 {
		t.Errorf("hour 12 is not the peak: %v", rc.hourOfDay)
	}
}

// TestHeavyTail checks that a few sources send most packets and most
// sources send few.
func TestHeavyTail(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	_, truth := simulate(t, cfg)
	var counts []uint64
	for _, s := range truth.Sources {
		counts = append(counts, s.Packets)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := len(counts) / 100
	var topSum uint64
	for _, c := range counts[:top] {
		topSum += c
	}
	share := float64(topSum) / float64(cfg.Packets)
	median := counts[len(counts)/2]
	t.Logf("%d sources; top 1%% send %.1f%%; median %d packets; max %d", len(counts), 100*share, median, counts[0])
	if share < 0.4 {
		t.Errorf("top 1%% of sources send %.1f%% of packets, want >= 40%%", 100*share)
	}
	if mean := float64(cfg.Packets) / float64(len(counts)); float64(median) > mean/3 {
		t.Errorf("median source sends %d packets, mean %.1f: tail not heavy", median, mean)
	}
	// Some sources reach every sensor, most reach one or few.
	var one, all int
	for _, s := range truth.Sources {
		switch s.Sensors {
		case 1:
			one++
		case len(truth.Sensors):
			all++
		}
	}
	if one == 0 || all == 0 {
		t.Errorf("sources reaching one sensor: %d, every sensor: %d; want both", one, all)
	}
}

func TestDefaultFleet(t *testing.T) {
	t.Parallel()
	f := DefaultFleet()
	groups := map[string]int{}
	bench := netip.MustParsePrefix("198.18.0.0/15")
	doc := netip.MustParsePrefix("2001:db8::/32")
	for _, s := range f.Sensors {
		groups[s.Group]++
		if s.Country == "" || s.Description == "" {
			t.Errorf("sensor %s has no country or description", s.Name)
		}
		for _, p := range s.Prefixes() {
			if !bench.Contains(p.Addr()) && !doc.Contains(p.Addr()) {
				t.Errorf("sensor %s watches %s, outside 198.18.0.0/15 and 2001:db8::/32", s.Name, p)
			}
		}
	}
	if diff := cmp.Diff(groups, map[string]int{"Japan": 3, "overseas": 3}); diff != "" {
		t.Errorf("DefaultFleet() groups (-got, +want):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{name: "ok", edit: func(*Config) {}},
		{name: "no start", edit: func(c *Config) { c.Start = time.Time{} }, wantErr: "start time is required"},
		{name: "end before start", edit: func(c *Config) { c.End = c.Start.Add(-time.Hour) }, wantErr: "is not after start"},
		{name: "end wins over duration", edit: func(c *Config) { c.End = c.Start.Add(time.Hour); c.Duration = -time.Hour }},
		{name: "no sources", edit: func(c *Config) { c.Sources = 0 }, wantErr: "sources must be positive"},
		{name: "negative share", edit: func(c *Config) { c.Mix.ZMap = -1 }, wantErr: "mix share zmap"},
		{name: "empty mix", edit: func(c *Config) { c.Mix = Mix{} }, wantErr: "every mix share is zero"},
		{name: "diurnal below 1", edit: func(c *Config) { c.DiurnalFactor = 0.5 }, wantErr: "diurnal factor"},
		{name: "bad alpha", edit: func(c *Config) { c.ParetoAlpha = 0 }, wantErr: "pareto alpha"},
		{name: "bad group weight", edit: func(c *Config) { c.GroupWeights = map[string]float64{"Japan": 0} }, wantErr: "group weight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunTooFewSources(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Sources = 3
	if _, err := Run(t.Context(), cfg, newPcapWriter(new(bytes.Buffer)), nil); err == nil || !strings.Contains(err.Error(), "fewer than") {
		t.Errorf("Run() error = %v, want too few sources", err)
	}
}

type failingWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) WritePacket(int64, []byte) error {
	if w.n--; w.n < 0 {
		return errDiskFull
	}
	return nil
}

func TestRunWriteError(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	_, err := Run(t.Context(), cfg, &failingWriter{n: 10_000}, nil)
	if !errors.Is(err, errDiskFull) {
		t.Errorf("Run() error = %v, want %v", err, errDiskFull)
	}
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cfg := testConfig()
	_, err := Run(ctx, cfg, newPcapWriter(new(bytes.Buffer)), func(done, total uint64) {
		if done > 10_000 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run() error = %v, want %v", err, context.Canceled)
	}
}

func TestRunProgress(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Packets = 30_000
	var calls []uint64
	_, err := Run(t.Context(), cfg, newPcapWriter(new(bytes.Buffer)), func(done, total uint64) {
		if total != cfg.Packets {
			t.Errorf("progress total = %d, want %d", total, cfg.Packets)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 || !slices.IsSorted(calls) || calls[len(calls)-1] != cfg.Packets {
		t.Errorf("progress calls %v, want increasing up to %d", calls, cfg.Packets)
	}
}

func TestRunZeroPackets(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Packets = 0
	pcap, truth := simulate(t, cfg)
	if len(pcap) != 24 || truth.Packets != 0 {
		t.Errorf("Run() wrote %d bytes, truth %d packets; want an empty capture", len(pcap), truth.Packets)
	}
}

// TestTruthJSON pins the JSON shape the CLI and other tests rely on.
func TestTruthJSON(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Packets = 1000
	_, truth := simulate(t, cfg)
	out := string(truthJSON(t, truth))
	for _, key := range []string{`"packets":`, `"sensors":`, `"groups":`, `"sources":`, `"ports":`, `"months":`, `"tags":`, `"kinds":`, `"23/TCP":`, `"2024-06":`, `"group": "Japan"`} {
		if !strings.Contains(out, key) {
			t.Errorf("WriteJSON() lacks %s", key)
		}
	}
	if strings.Contains(out, `"tags": null`) {
		t.Error(`WriteJSON() writes "tags": null`)
	}
}

// BenchmarkRun measures generation and writing to a pcap file.
func BenchmarkRun(b *testing.B) {
	for _, n := range []uint64{1_000_000, 10_000_000} {
		b.Run(formatCount(n), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Start = testStart
			cfg.Duration = 90 * 24 * time.Hour
			cfg.Packets = n
			path := filepath.Join(b.TempDir(), "sim.pcap")
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				f, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				pw := newPcapWriter(f)
				if _, err := Run(b.Context(), cfg, pw, nil); err != nil {
					b.Fatal(err)
				}
				if err := pw.Close(); err != nil {
					b.Fatal(err)
				}
				st, _ := f.Stat()
				size = st.Size()
				f.Close()
			}
			b.SetBytes(size)
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

func formatCount(n uint64) string {
	if n%1_000_000 == 0 {
		return strconv.FormatUint(n/1_000_000, 10) + "M"
	}
	return strconv.FormatUint(n, 10)
}
