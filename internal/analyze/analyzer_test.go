package analyze

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

func testFleet(t *testing.T) *fleet.Fleet {
	t.Helper()
	f, err := fleet.Parse([]byte(`
sensors:
  - {name: jp-1, group: Japan, addresses: [198.18.1.1]}
  - {name: jp-2, group: Japan, addresses: [198.18.2.0/24]}
  - {name: us-1, group: overseas, addresses: [198.19.1.1, "2001:db8:1::/64"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type pkt struct {
	src, dst string
	proto    uint8
	port     uint16
	when     string
	mod      func(*record.Record)
}

func (p pkt) record(t *testing.T) record.Record {
	t.Helper()
	ts, err := time.Parse(time.DateOnly, p.when)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := record.MustParseAddr(p.src), record.MustParseAddr(p.dst)
	r := record.Record{
		Time: ts.UnixNano(), Src: src, Dst: dst, IPVersion: 4, Protocol: p.proto,
		TTL: 50, HasTransport: true, SrcPort: 40000, DstPort: p.port, Seq: 7, IPID: 9,
	}
	if dst.Is6() {
		r.IPVersion = 6
	}
	if p.proto == record.ProtoTCP {
		r.TCPFlags = record.FlagSYN
	}
	if p.mod != nil {
		p.mod(&r)
	}
	return r
}

func feed(t *testing.T, a *Analyzer, pkts ...pkt) {
	t.Helper()
	for _, p := range pkts {
		r := p.record(t)
		a.Add(&r)
	}
}

func repeat(n int, p pkt) []pkt {
	out := make([]pkt, n)
	for i := range out {
		out[i] = p
	}
	return out
}

func TestReportRankingAndGroups(t *testing.T) {
	t.Parallel()
	a := New(Config{Top: 3, Sources: 2}, testFleet(t))
	var pkts []pkt
	// jp-1: 3×23/TCP, 2×445/TCP, 2×22/TCP (tie: "22/TCP" < "445/TCP"), 1×ICMP
	pkts = append(pkts, repeat(3, pkt{"192.0.2.1", "198.18.1.1", record.ProtoTCP, 23, "2024-07-03", nil})...)
	pkts = append(pkts, repeat(2, pkt{"192.0.2.2", "198.18.1.1", record.ProtoTCP, 445, "2024-07-04", nil})...)
	pkts = append(pkts, repeat(2, pkt{"192.0.2.2", "198.18.1.1", record.ProtoTCP, 22, "2024-08-04", nil})...)
	pkts = append(pkts, pkt{"192.0.2.3", "198.18.1.1", record.ProtoICMP, 0, "2024-08-05", func(r *record.Record) { r.SrcPort = 8 }})
	// jp-2 (a /24): 53/UDP twice in August
	pkts = append(pkts, repeat(2, pkt{"192.0.2.1", "198.18.2.77", record.ProtoUDP, 53, "2024-08-10", nil})...)
	// us-1 over IPv6
	pkts = append(pkts, pkt{"2001:db8:9::1", "2001:db8:1::99", record.ProtoTCP, 80, "2024-07-20", nil})
	// to nobody
	pkts = append(pkts, pkt{"192.0.2.9", "203.0.113.1", record.ProtoTCP, 80, "2024-07-20", nil})
	feed(t, a, pkts...)

	rep := a.Report()
	if rep.Packets != 11 || rep.Unmatched != 1 || rep.Distinct != 4 {
		t.Errorf("packets, unmatched, distinct = %d, %d, %d; want 11, 1, 4", rep.Packets, rep.Unmatched, rep.Distinct)
	}
	if diff := cmp.Diff(rep.Months, []string{"2024-07", "2024-08"}); diff != "" {
		t.Errorf("Months (-got, +want):\n%s", diff)
	}
	wantTop := map[string][]PortCount{
		"jp-1": {{Port: "23/TCP", Packets: 3}, {Port: "22/TCP", Packets: 2}, {Port: "445/TCP", Packets: 2}},
		"jp-2": {{Port: "53/UDP", Packets: 2}},
		"us-1": {{Port: "80/TCP", Packets: 1}},
	}
	wantMonths := map[string][]MonthCount{
		"jp-1": {{"2024-07", 5}, {"2024-08", 3}},
		"jp-2": {{"2024-07", 0}, {"2024-08", 2}},
		"us-1": {{"2024-07", 1}, {"2024-08", 0}},
	}
	for _, s := range rep.Sensors {
		if diff := cmp.Diff(s.TopPorts, wantTop[s.Name]); diff != "" {
			t.Errorf("%s TopPorts (-got, +want):\n%s", s.Name, diff)
		}
		if diff := cmp.Diff(s.Months, wantMonths[s.Name]); diff != "" {
			t.Errorf("%s Months (-got, +want):\n%s", s.Name, diff)
		}
	}
	wantGroups := []GroupReport{
		{Name: "Japan", Sensors: 2, Packets: 10, Months: []GroupMonth{{"2024-07", 2.5}, {"2024-08", 2.5}}},
		{Name: "overseas", Sensors: 1, Packets: 1, Months: []GroupMonth{{"2024-07", 1}, {"2024-08", 0}}},
	}
	if diff := cmp.Diff(rep.Groups, wantGroups); diff != "" {
		t.Errorf("Groups (-got, +want):\n%s", diff)
	}
	// 192.0.2.1 sent 5 packets (jp-1 and jp-2), 192.0.2.2 sent 4.
	var gotSources []string
	for _, s := range rep.Sources {
		gotSources = append(gotSources, s.IP)
	}
	if diff := cmp.Diff(gotSources, []string{"192.0.2.1", "192.0.2.2"}); diff != "" {
		t.Errorf("Sources (-got, +want):\n%s", diff)
	}
	if got := rep.Sources[0].Sensors; got != 2 {
		t.Errorf("192.0.2.1 reached %d sensors, want 2", got)
	}
}

func TestQuietSensorCountsInGroupAverage(t *testing.T) {
	t.Parallel()
	a := New(DefaultConfig(), testFleet(t))
	feed(t, a, repeat(4, pkt{"192.0.2.1", "198.18.1.1", record.ProtoTCP, 23, "2024-07-03", nil})...)
	rep := a.Report()
	// jp-2 saw nothing but is deployed: Japan's average is 4 / 2 sensors.
	if got := rep.Groups[0].Months[0].AvgPacketsPerSensor; got != 2 {
		t.Errorf("Japan average = %v, want 2", got)
	}
}

func TestTagsAndUnicornscanPerSource(t *testing.T) {
	t.Parallel()
	a := New(DefaultConfig(), nil)
	dst32 := record.MustParseAddr("198.18.1.1").Uint32()
	mirai := func(r *record.Record) { r.Seq = dst32 }
	const key = 0xabcdef01
	unicorn := func(port uint16) func(*record.Record) {
		return func(r *record.Record) { r.DstPort = port; r.Seq = key ^ dst32 ^ (uint32(port)<<16 + 40000) }
	}
	feed(t, a,
		pkt{"192.0.2.1", "198.18.1.1", record.ProtoTCP, 23, "2024-07-01", mirai},
		pkt{"192.0.2.1", "198.18.1.1", record.ProtoTCP, 2323, "2024-07-01", mirai},
		pkt{"192.0.2.5", "198.18.1.1", record.ProtoTCP, 0, "2024-07-01", unicorn(80)},
		pkt{"192.0.2.5", "198.18.1.1", record.ProtoTCP, 0, "2024-07-01", unicorn(443)},
		pkt{"192.0.2.5", "198.18.1.1", record.ProtoTCP, 0, "2024-07-01", unicorn(22)},
	)
	rep := a.Report()
	s := rep.Sensors[0]
	if s.Name != "198.18.1.1" || s.Group != AutoGroup {
		t.Errorf("auto sensor = %q in %q, want 198.18.1.1 in %q", s.Name, s.Group, AutoGroup)
	}
	if s.Tags["mirai"] != 2 || s.Tags["unicornscan"] != 2 {
		t.Errorf("tags = %v, want mirai 2 and unicornscan 2 (the first probe cannot show the key)", s.Tags)
	}
	got := map[string][]string{}
	for _, src := range rep.Sources {
		got[src.IP] = src.Tags
	}
	want := map[string][]string{"192.0.2.1": {"mirai"}, "192.0.2.5": {"unicornscan"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("source tags (-got, +want):\n%s", diff)
	}
}

func TestAddrTable(t *testing.T) {
	t.Parallel()
	tab := newAddrTable()
	const n = 100000
	for i := uint32(0); i < n; i++ {
		tab.put(i*2654435761, int32(i))
	}
	for i := uint32(0); i < n; i++ {
		if got := tab.get(i * 2654435761); got != int32(i) {
			t.Fatalf("get(%d) = %d, want %d", i*2654435761, got, i)
		}
	}
	if got := tab.get(1); got != -1 { // 1 is no multiple of the odd stride below n
		t.Errorf("get(absent) = %d, want -1", got)
	}
	if tab.len() != n {
		t.Errorf("len = %d, want %d", tab.len(), n)
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for in, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", 100000: "100,000"} {
		if got := Thousands(in); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestTopPortsTieAtTheCut: when the n-th and (n+1)-th ports have the same
// count, the label decides ("22/TCP" before "445/TCP").
func TestTopPortsTieAtTheCut(t *testing.T) {
	t.Parallel()
	a := New(Config{Top: 2}, testFleet(t))
	var pkts []pkt
	pkts = append(pkts, repeat(3, pkt{"192.0.2.1", "198.18.1.1", record.ProtoTCP, 23, "2024-07-03", nil})...)
	pkts = append(pkts, repeat(2, pkt{"192.0.2.1", "198.18.1.1", record.ProtoTCP, 445, "2024-07-03", nil})...)
	pkts = append(pkts, repeat(2, pkt{"192.0.2.1", "198.18.1.1", record.ProtoTCP, 22, "2024-07-03", nil})...)
	pkts = append(pkts, pkt{"192.0.2.1", "198.18.1.1", record.ProtoTCP, 1, "2024-07-03", nil})
	feed(t, a, pkts...)
	got := a.Report().Sensors[0].TopPorts
	if diff := cmp.Diff(got, []PortCount{{Port: "23/TCP", Packets: 3}, {Port: "22/TCP", Packets: 2}}); diff != "" {
		t.Errorf("TopPorts (-got, +want):\n%s", diff)
	}
}
