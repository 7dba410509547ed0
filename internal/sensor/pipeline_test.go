package sensor

import (
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/sensor/spool"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
	"github.com/nightjar-telescope/nightjar/internal/wire"
)

// TestPipeline runs a real scan capture through the pipeline the way the
// daemon does and reads the spooled batches back: every frame is counted
// once as stored, ignored, excluded or skipped, batches close at their
// size, and the records carry their tags.
func TestPipeline(t *testing.T) {
	path := filepath.Join(testenv.Corpus(t, "scanners"), "masscan_tcp_0_1000_20190821.pcap")
	cfg, err := ParseConfig([]byte(ExampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(t.TempDir(), spool.Options{Sync: spool.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var counts counters
	var seq atomic.Uint64
	b := &batcher{size: 100, latency: time.Hour, epoch: 7, seq: &seq, spool: sp, counts: &counts, log: slog.New(slog.DiscardHandler)}

	// The frames: a masscan scan of one host (monitored), a zmap scan of
	// others (not monitored), and the masscan frames cut short (skipped).
	type frame struct {
		ts   int64
		link decode.LinkType
		data []byte
	}
	var frames []frame
	collect := func(ts int64, link decode.LinkType, data []byte) {
		frames = append(frames, frame{ts, link, append([]byte(nil), data...)})
	}
	each(t, path, collect)
	n := len(frames)
	each(t, filepath.Join(testenv.Corpus(t, "scanners"), "zmap_2.1.1_tcp23.pcap"), collect)
	for _, f := range frames[:n] {
		frames = append(frames, frame{f.ts, f.link, f.data[:20]})
	}
	var dst record.Addr
	var decodable, toDst, toPort22 int
	for i, f := range frames {
		var r record.Record
		if decode.Decode(f.link, f.data, &r) != decode.OK {
			continue
		}
		decodable++
		if i == 0 {
			dst = r.Dst
		}
		if r.Dst == dst {
			toDst++
			if r.Protocol == record.ProtoTCP && r.DstPort == 22 {
				toPort22++
			}
		}
	}
	cfg.Monitor = []string{dst.String()}
	cfg.Exclude = []Exclusion{{Port: "22/TCP"}}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	monitor, err := monitorMatcher(cfg.monitor)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newSocketPipeline(&counts, monitor, cfg.exclude, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := p.frame(f.ts, f.link, f.data); err != nil {
			t.Fatal(err)
		}
	}
	b.flushIfDue(time.Now(), true)

	stored := 0
	tagged := 0
	for _, e := range sp.Pending() {
		batch, err := sp.Read(e)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := wire.DecodeRecords(batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 100 {
			t.Fatalf("batch of %d records, size is 100", len(recs))
		}
		for _, r := range recs {
			if r.Dst != dst || r.DstPort == 22 && r.Protocol == record.ProtoTCP || r.Time == 0 {
				t.Fatalf("stored record %+v: not monitored, excluded or without time", r)
			}
			if r.Tags.Has(record.TagMasscan) {
				tagged++
			}
		}
		stored += len(recs)
	}
	if toDst == 0 || toPort22 == 0 || decodable == toDst || decodable == len(frames) {
		t.Fatalf("frames exercise too little: %d frames, %d decodable, %d to %v, %d of them to 22/TCP", len(frames), decodable, toDst, dst, toPort22)
	}
	want := map[string]uint64{
		"seen": uint64(len(frames)), "skipped": uint64(len(frames) - decodable),
		"ignored": uint64(decodable - toDst), "excluded": uint64(toPort22), "stored": uint64(toDst - toPort22),
	}
	got := map[string]uint64{
		"seen": counts.seen.Load(), "skipped": counts.skipped.Load(),
		"ignored": counts.ignored.Load(), "excluded": counts.excluded.Load(), "stored": uint64(stored),
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("%s: %d, want %d", k, got[k], want[k])
		}
	}
	if counts.records.Load() != uint64(stored) || tagged == 0 {
		t.Errorf("records spooled %d, stored %d, %d tagged masscan", counts.records.Load(), stored, tagged)
	}
}

// TestBatchLatency: a batch that is not full closes once its oldest record
// has waited the latency, not before.
func TestBatchLatency(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{Sync: spool.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var counts counters
	var seq atomic.Uint64
	b := &batcher{size: 1000, latency: time.Second, epoch: 1, seq: &seq, spool: sp, counts: &counts, log: slog.New(slog.DiscardHandler)}
	r := record.Record{Time: 1, Src: record.MustParseAddr("192.0.2.1"), Dst: record.MustParseAddr("198.18.0.1"), IPVersion: 4, Protocol: 17}
	b.add(&r)
	opened := b.opened
	b.flushIfDue(opened.Add(999*time.Millisecond), false)
	if n := len(sp.Pending()); n != 0 {
		t.Fatalf("%d batches closed before the latency", n)
	}
	b.flushIfDue(opened.Add(time.Second), false)
	if n := len(sp.Pending()); n != 1 || counts.records.Load() != 1 {
		t.Fatalf("%d batches, %d records after the latency; want 1, 1", n, counts.records.Load())
	}
}

// each calls fn for every frame of a capture.
func each(t *testing.T, path string, fn func(ts int64, link decode.LinkType, data []byte)) {
	t.Helper()
	r, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var p capfile.Packet
	for {
		err := r.Next(&p)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(p.Time, decode.LinkType(p.LinkType), p.Data)
	}
}

// TestFrameAllocs: a frame kept, one ignored and one cut short allocate
// nothing between batches (closing a batch allocates its encoding, once
// per batch).
func TestFrameAllocs(t *testing.T) {
	path := filepath.Join(testenv.Corpus(t, "scanners"), "masscan_tcp_0_1000_20190821.pcap")
	var frames [][]byte
	var link decode.LinkType
	each(t, path, func(_ int64, l decode.LinkType, data []byte) {
		link = l
		frames = append(frames, append([]byte(nil), data...))
	})
	var first record.Record
	if decode.Decode(link, frames[0], &first) != decode.OK {
		t.Fatal("first frame does not decode")
	}
	monitor, err := monitorMatcher([]netip.Prefix{netip.PrefixFrom(first.Dst.Netip(), 32)})
	if err != nil {
		t.Fatal(err)
	}
	var counts counters
	var seq atomic.Uint64
	b := &batcher{size: 1 << 20, latency: time.Hour, seq: &seq, counts: &counts, log: slog.New(slog.DiscardHandler)}
	b.recs = make([]record.Record, 0, b.size)
	ssh, err := Exclusion{Src: "192.0.2.0/24", Port: "22/TCP"}.parse()
	if err != nil {
		t.Fatal(err)
	}
	p, err := newSocketPipeline(&counts, monitor, []exclusion{ssh}, b)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	allocs := testing.AllocsPerRun(5_000, func() {
		f := frames[i%len(frames)]
		i++
		for _, data := range [][]byte{f, f[:20]} {
			if err := p.frame(int64(i), link, data); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame, want 0", allocs)
	}
	if counts.skipped.Load() == 0 || len(b.recs) == 0 {
		t.Fatalf("frames exercise too little: %d skipped, %d batched", counts.skipped.Load(), len(b.recs))
	}
}
