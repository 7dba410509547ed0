package report

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/enrich"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/origins"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/scanners"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// generated is the fixed generation time of the reports of the tests.
var generated = time.Date(2024, 10, 7, 9, 30, 0, 0, time.UTC)

func fixedNow() time.Time { return generated }

// quarter is one simulated quarter of the fixture: its configuration and
// the simulator's ground truth.
type quarter struct {
	cfg   simulate.Config
	truth *simulate.Truth
}

// fixture is a DuckDB store holding two simulated quarters of the default
// fleet (six sensors, groups Japan and overseas), 2024Q2 and 2024Q3, each
// with its own seed and ground truth. It is opened once for the test
// binary, shared by the tests (questions may run concurrently) and closed
// by TestMain.
var fixture struct {
	once   sync.Once
	dir    string
	store  *duckdb.Store
	q2, q3 quarter
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.store != nil {
		fixture.store.Close()
	}
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

func simulatedQuarter(name string, seed uint64, f *fleet.Fleet) simulate.Config {
	p, err := period.Parse(name)
	if err != nil {
		panic(err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Fleet = f
	cfg.Start, cfg.End = p.Start, p.End
	cfg.Seed = seed
	cfg.Packets = 100_000
	cfg.Sources = 5_000
	return cfg
}

// theFixture fills the fixture on first use.
func theFixture(t *testing.T) (*duckdb.Store, quarter, quarter) {
	t.Helper()
	fixture.once.Do(func() {
		dir, err := os.MkdirTemp("", "nightjar-report-test-")
		if err != nil {
			t.Fatal(err)
		}
		fixture.dir = dir
		st, err := duckdb.Open(t.Context(), filepath.Join(dir, "fixture.duckdb"), duckdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		q2 := quarter{cfg: simulatedQuarter("2024Q2", 3, simulate.DefaultFleet())}
		q2.cfg.Packets = 80_000
		q3 := quarter{cfg: simulatedQuarter("2024Q3", 7, simulate.DefaultFleet())}
		e := geographyEnricher(t, dir)
		q2.truth = storetest.Simulated(t, st, q2.cfg, e)
		q3.truth = storetest.Simulated(t, st, q3.cfg, e)
		fixture.store, fixture.q2, fixture.q3 = st, q2, q3
	})
	if fixture.store == nil {
		t.Fatal("the simulated fixture could not be built (see the first test that used it)")
	}
	return fixture.store, fixture.q2, fixture.q3
}

// geographyEnricher enriches with a database of the simulator's geography
// and a list of its research networks, written into dir.
func geographyEnricher(t *testing.T, dir string) *enrich.Enricher {
	t.Helper()
	geo, list := filepath.Join(dir, "geography.mmdb"), filepath.Join(dir, "research.txt")
	if err := origins.Write(geo, "Nightjar-Simulated", simulate.Geography()); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range simulate.ResearchNetworks() {
		lines = append(lines, p.String())
	}
	if err := os.WriteFile(list, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := origins.Watch(geo)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := scanners.Watch(scanners.Source{Path: list, Label: "sim-research"})
	if err != nil {
		t.Fatal(err)
	}
	return enrich.New(enrich.Sources{Origins: w, Scanners: lists}, 0, nil)
}

// packet is a simulated packet as the store sees it, for what the ground
// truth does not count (Mirai sources per port, ports per source).
type packet struct {
	sensor, port, src string
	tags              record.Tags
}

// modelPackets simulates cfg again and decodes and tags every packet as
// the store's fill does.
func modelPackets(t *testing.T, cfg simulate.Config) []packet {
	t.Helper()
	m := &modeller{matcher: fleet.NewMatcher(cfg.Fleet), tagger: fingerprint.NewTagger(0), fleet: cfg.Fleet}
	if _, err := simulate.Run(t.Context(), cfg, m, nil); err != nil {
		t.Fatal(err)
	}
	return m.packets
}

type modeller struct {
	matcher *fleet.Matcher
	tagger  *fingerprint.Tagger
	fleet   *fleet.Fleet
	packets []packet
}

func (m *modeller) WritePacket(ts int64, data []byte) error {
	var rec record.Record
	if decode.Decode(decode.LinkEthernet, data, &rec) != decode.OK {
		return os.ErrInvalid
	}
	rec.Time = ts
	m.tagger.Tag(&rec)
	i := m.matcher.Lookup(rec.Dst.Netip())
	if i < 0 {
		return os.ErrNotExist
	}
	m.packets = append(m.packets, packet{sensor: m.fleet.Sensors[i].Name, port: rec.PortLabel(), src: rec.Src.String(), tags: rec.Tags})
	return nil
}
