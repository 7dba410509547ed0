package pipeline

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// synFrame builds an Ethernet frame of an option-less IPv4 TCP SYN:
//
//	ethernet  02:00:00:00:00:01 > 02:00:00:00:00:02, type IPv4
//	ipv4      45 00 0028 <id> 0000 40 06 0000 <src> <dst>  (TTL 64, no options)
//	tcp       <sport> <dport> <seq> 00000000 50 02 <window> 0000 0000
func synFrame(src, dst string, sport, dport uint16, seq uint32) []byte {
	b := make([]byte, 14+20+20)
	copy(b, []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00})
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	binary.BigEndian.PutUint16(ip[4:], 7)
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12], tcp[13] = 0x50, record.FlagSYN
	binary.BigEndian.PutUint16(tcp[14:], 29200)
	return b
}

// unicornFrame is a SYN whose unicornscan key seq ^ dst ^ ((dport<<16)+sport) is key.
func unicornFrame(src, dst string, dport uint16, key uint32) []byte {
	const sport = 40000
	d := netip.MustParseAddr(dst).As4()
	seq := key ^ binary.BigEndian.Uint32(d[:]) ^ (uint32(dport)<<16 + sport)
	return synFrame(src, dst, sport, dport, seq)
}

// testFleet monitors 198.18.0.0/24 (sensor 0) and 198.18.1.0/24 (sensor 1).
func testFleet(t testing.TB) *fleet.Matcher {
	t.Helper()
	f := &fleet.Fleet{Sensors: []fleet.Sensor{
		{Name: "a", Group: "g", Addresses: []string{"198.18.0.0/24"}},
		{Name: "b", Group: "g", Addresses: []string{"198.18.1.0/24"}},
	}}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	return fleet.NewMatcher(f)
}

// trace notes the calls of the stages, in order.
type trace struct {
	calls    []string
	enriched []record.Tags // the tags the enricher saw
	recs     []record.Record
	sens     []int32
	err      error
}

func (tr *trace) Enrich(recs []record.Record, sensors []int32) {
	tr.calls = append(tr.calls, "enrich")
	for i := range recs {
		tr.enriched = append(tr.enriched, recs[i].Tags)
	}
}

func (tr *trace) Write(recs []record.Record, sensors []int32) error {
	tr.calls = append(tr.calls, "sink")
	tr.recs = append(tr.recs, recs...)
	tr.sens = append(tr.sens, sensors...)
	return tr.err
}

func newTraced(t *testing.T, attr Attributor, batch int) (*Pipeline, *trace) {
	t.Helper()
	tr := &trace{}
	p, err := New(Config{Attributor: attr, Sink: tr, Enrichers: []Enricher{tr}, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	return p, tr
}

// TestStages runs frames through decode, attribute, tag, enrich and sink:
// each frame has the outcome its stage gives it, skips are counted by
// reason, and the sink sees the kept records tagged, attributed, in order,
// after the enricher.
func TestStages(t *testing.T) {
	p, tr := newTraced(t, Fleet(testFleet(t)), 16)
	const key = 0x5eed1e55
	frames := []struct {
		name string
		link decode.LinkType
		data []byte
		want Outcome
	}{
		{"unicorn probe 1", decode.LinkEthernet, unicornFrame("192.0.2.1", "198.18.0.1", 80, key), Kept},
		{"same source, to no sensor", decode.LinkEthernet, unicornFrame("192.0.2.1", "203.0.113.9", 443, key+1), Unmatched},
		{"unicorn probe 2", decode.LinkEthernet, unicornFrame("192.0.2.1", "198.18.1.7", 8080, key), Kept},
		{"cut short", decode.LinkEthernet, synFrame("192.0.2.2", "198.18.0.1", 1, 2, 3)[:40], Skipped},
		{"unsupported link", decode.LinkType(147), synFrame("192.0.2.2", "198.18.0.1", 1, 2, 3), Skipped},
	}
	var got, want []Outcome
	for i, f := range frames {
		got = append(got, p.Frame(int64(i+1), f.link, f.data))
		want = append(want, f.want)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Frame() outcomes (-got, +want):\n%s", diff)
	}
	if len(tr.calls) != 0 || p.Pending() != 2 {
		t.Fatalf("before Flush: calls %v, %d pending; want none, 2", tr.calls, p.Pending())
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tr.calls, []string{"enrich", "sink"}); diff != "" {
		t.Errorf("stage calls (-got, +want):\n%s", diff)
	}
	// Tagging came before enrichment.
	if diff := cmp.Diff(tr.enriched, []record.Tags{0, record.TagUnicornscan}); diff != "" {
		t.Errorf("tags the enricher saw (-got, +want):\n%s", diff)
	}
	type kept struct {
		Time    int64
		Dst     string
		Sensor  int32
		Unicorn bool
	}
	var gotKept []kept
	for i, r := range tr.recs {
		gotKept = append(gotKept, kept{r.Time, r.Dst.String(), tr.sens[i], r.Tags.Has(record.TagUnicornscan)})
	}
	// The unmatched probe between them did not feed the unicornscan state,
	// so the second probe is tagged.
	wantKept := []kept{{1, "198.18.0.1", 0, false}, {3, "198.18.1.7", 1, true}}
	if diff := cmp.Diff(gotKept, wantKept); diff != "" {
		t.Errorf("records at the sink (-got, +want):\n%s", diff)
	}
	var wantStats Stats
	wantStats.Frames, wantStats.Kept, wantStats.Unmatched = 5, 2, 1
	wantStats.Skipped[decode.TruncatedTCPHeader] = 1
	wantStats.Skipped[decode.UnsupportedLinkType] = 1
	wantStats.Links = map[decode.LinkType]uint64{147: 1}
	if diff := cmp.Diff(*p.Stats(), wantStats); diff != "" {
		t.Errorf("Stats() (-got, +want):\n%s", diff)
	}
	if n := p.Stats().SkippedTotal(); n != 2 {
		t.Errorf("SkippedTotal() = %d, want 2", n)
	}
}

// TestStatefulAcrossBatches: the unicornscan state carries from one batch
// to the next.
func TestStatefulAcrossBatches(t *testing.T) {
	p, tr := newTraced(t, Fleet(testFleet(t)), 1)
	const key = 0xfeedbeef
	for i, dst := range []string{"198.18.0.1", "198.18.0.2", "198.18.1.3"} {
		if out := p.Frame(int64(i), decode.LinkEthernet, unicornFrame("192.0.2.1", dst, 22, key)); out != Kept {
			t.Fatalf("Frame(%s) = %v, want Kept", dst, out)
		}
		if !p.Full() {
			t.Fatal("a batch of 1 is not Full after a kept record")
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	var got []bool
	for _, r := range tr.recs {
		got = append(got, r.Tags.Has(record.TagUnicornscan))
	}
	if diff := cmp.Diff(got, []bool{false, true, true}); diff != "" {
		t.Errorf("unicornscan tags over three batches (-got, +want):\n%s", diff)
	}
}

// excludePort22 is the sensor's kind of attributor: monitored, but port 22
// excluded.
type excludePort22 struct{ Attributor }

func (e excludePort22) Attribute(r *record.Record) (int, Outcome) {
	i, out := e.Attributor.Attribute(r)
	if out == Kept && r.DstPort == 22 {
		return 0, Excluded
	}
	return i, out
}

// TestRecordRetags: records that arrive decoded (the collector's) are
// attributed and tagged again; the tags they came with do not count.
func TestRecordRetags(t *testing.T) {
	p, tr := newTraced(t, excludePort22{OneSensor(3)}, 8)
	var r record.Record
	if decode.Decode(decode.LinkEthernet, synFrame("192.0.2.1", "198.18.0.1", 1000, 80, 0xc612_0001), &r) != decode.OK {
		t.Fatal("test frame does not decode")
	}
	r.Tags = record.TagUnicornscan // an older sensor's opinion
	ssh := r
	ssh.DstPort = 22
	got := []Outcome{p.Record(&r), p.Record(&ssh)}
	if diff := cmp.Diff(got, []Outcome{Kept, Excluded}); diff != "" {
		t.Errorf("Record() outcomes (-got, +want):\n%s", diff)
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(tr.recs) != 1 || tr.sens[0] != 3 {
		t.Fatalf("sink got %d records, sensors %v; want 1 of sensor 3", len(tr.recs), tr.sens)
	}
	if got, want := tr.recs[0].Tags, record.TagMirai; got != want {
		t.Errorf("retagged %v, want %v (seq = dst: mirai; one probe: no unicornscan)", got.Names(), want.Names())
	}
	if s := p.Stats(); s.Records != 2 || s.Kept != 1 || s.Excluded != 1 || s.Frames != 0 {
		t.Errorf("Stats() records %d, kept %d, excluded %d, frames %d; want 2, 1, 1, 0", s.Records, s.Kept, s.Excluded, s.Frames)
	}
}

// TestFlushSinkError: a failing sink's error comes back from Flush, and the
// batch is emptied all the same.
func TestFlushSinkError(t *testing.T) {
	p, tr := newTraced(t, Fleet(testFleet(t)), 4)
	tr.err = errors.New("disk full")
	p.Frame(1, decode.LinkEthernet, synFrame("192.0.2.1", "198.18.0.1", 1, 2, 3))
	if err := p.Flush(); !errors.Is(err, tr.err) {
		t.Errorf("Flush() = %v, want %v", err, tr.err)
	}
	if p.Pending() != 0 {
		t.Errorf("%d records pending after a failed Flush, want 0", p.Pending())
	}
	if err := p.Flush(); err != nil || len(tr.calls) != 2 {
		t.Errorf("Flush() of an empty batch = %v after calls %v; want nil, no sink call", err, tr.calls)
	}
}

func TestNewNeedsAttributorAndSink(t *testing.T) {
	if _, err := New(Config{Sink: &trace{}}); err == nil {
		t.Error("New() without an attributor: no error")
	}
	if _, err := New(Config{Attributor: OneSensor(0)}); err == nil {
		t.Error("New() without a sink: no error")
	}
}

type discard struct{}

func (discard) Write([]record.Record, []int32) error { return nil }

// TestZeroAllocs: no stage allocates per packet, with a new source on
// every packet (the unicornscan table fills and resets) and batches
// flushed along the way.
func TestZeroAllocs(t *testing.T) {
	p, err := New(Config{Attributor: Fleet(testFleet(t)), Sink: discard{}, Enrichers: []Enricher{nopEnricher{}}, Batch: 64, Sources: 1024})
	if err != nil {
		t.Fatal(err)
	}
	frame := unicornFrame("10.0.0.0", "198.18.1.9", 23, 0x5eed)
	var rec record.Record
	if decode.Decode(decode.LinkEthernet, frame, &rec) != decode.OK {
		t.Fatal("test frame does not decode")
	}
	i := uint32(0)
	packet := func() {
		i++
		binary.BigEndian.PutUint32(frame[14+12:], 0x0a000000+i) // a new source
		p.Frame(int64(i), decode.LinkEthernet, frame)
		rec.Src = record.AddrFrom4([4]byte{11, byte(i >> 16), byte(i >> 8), byte(i)})
		p.Record(&rec)
		if p.Full() || p.Pending() >= 62 {
			if err := p.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if allocs := testing.AllocsPerRun(20_000, packet); allocs != 0 {
		t.Errorf("%v allocations per packet, want 0", allocs)
	}
	if p.Stats().Kept != p.Stats().Frames+p.Stats().Records {
		t.Errorf("kept %d of %d frames and %d records", p.Stats().Kept, p.Stats().Frames, p.Stats().Records)
	}
}

type nopEnricher struct{}

func (nopEnricher) Enrich([]record.Record, []int32) {}

// BenchmarkFrame: the whole pipeline for a SYN from one of 16,384 sources.
func BenchmarkFrame(b *testing.B) {
	p, err := New(Config{Attributor: Fleet(testFleet(b)), Sink: discard{}, Batch: 64})
	if err != nil {
		b.Fatal(err)
	}
	frame := unicornFrame("10.0.0.0", "198.18.1.9", 23, 0x5eed)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	i := uint32(0)
	for b.Loop() {
		i++
		binary.BigEndian.PutUint32(frame[14+12:], 0x0a000000+i&0x3fff)
		p.Frame(int64(i), decode.LinkEthernet, frame)
		if p.Full() {
			if err := p.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// bookKeeper keeps the unicornscan state beside per-source entries of its
// own, as the analyzer does, and notes what the tag stage gave it.
type bookKeeper struct {
	trace   *trace
	book    fingerprint.UnicornBook
	entries map[record.Addr]*fingerprint.UnicornEntry
	seen    []record.Tags // the tags the stateless rules had set
}

func (k *bookKeeper) Unicorn(recs []record.Record) {
	k.trace.calls = append(k.trace.calls, "unicorn")
	for i := range recs {
		r := &recs[i]
		k.seen = append(k.seen, r.Tags)
		e := k.entries[r.Src]
		if e == nil {
			e = &fingerprint.UnicornEntry{}
			k.entries[r.Src] = e
		}
		if k.book.Observe(e, r) {
			r.Tags |= record.TagUnicornscan
		}
	}
}

// TestStateKeeper: a pipeline given a StateKeeper calls it once a batch,
// after the stateless rules and before the enrichers and the sink, and
// tags as the pipeline's own Tagger does.
func TestStateKeeper(t *testing.T) {
	tr := &trace{}
	k := &bookKeeper{trace: tr, book: fingerprint.NewUnicornBook(0), entries: map[record.Addr]*fingerprint.UnicornEntry{}}
	p, err := New(Config{Attributor: Fleet(testFleet(t)), Sink: tr, Enrichers: []Enricher{tr}, Batch: 2, State: k})
	if err != nil {
		t.Fatal(err)
	}
	own, ownTrace := newTraced(t, Fleet(testFleet(t)), 2)
	const key = 0xfeedbeef
	frames := [][]byte{
		unicornFrame("192.0.2.1", "198.18.0.1", 22, key),
		unicornFrame("192.0.2.1", "198.18.0.2", 22, key),
		unicornFrame("192.0.2.9", "198.18.1.3", 23, 7), // another source, another key
		unicornFrame("192.0.2.1", "198.18.1.3", 22, key),
	}
	for i, f := range frames {
		for _, pl := range []*Pipeline{p, own} {
			pl.Frame(int64(i), decode.LinkEthernet, f)
			if pl.Full() {
				if err := pl.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if diff := cmp.Diff(tr.calls, []string{"unicorn", "enrich", "sink", "unicorn", "enrich", "sink"}); diff != "" {
		t.Errorf("stage calls (-got, +want):\n%s", diff)
	}
	if diff := cmp.Diff(tagsOf(tr.recs), tagsOf(ownTrace.recs)); diff != "" || !tr.recs[1].Tags.Has(record.TagUnicornscan) {
		t.Errorf("tags with the keeper (-got) and with the pipeline's Tagger (+want):\n%s", diff)
	}
	for i, tags := range k.seen {
		if tags.Has(record.TagUnicornscan) || tags != tr.recs[i].Tags&^record.TagUnicornscan {
			t.Errorf("record %d reached the keeper with tags %v, want the stateless ones of %v", i, tags, tr.recs[i].Tags)
		}
	}
}

func tagsOf(recs []record.Record) []record.Tags {
	out := make([]record.Tags, len(recs))
	for i := range recs {
		out[i] = recs[i].Tags
	}
	return out
}
