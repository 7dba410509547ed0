package wire

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// corpusRecords decodes and tags every packet of the capture corpus (the
// tcpdump regression captures and the real scans): IPv4 and IPv6, options,
// fragments, ICMP errors with quoted packets, every tag.
func corpusRecords(t testing.TB) []record.Record {
	t.Helper()
	var recs []record.Record
	for _, sub := range []string{"tcpdump-tests", "scanners"} {
		root := testenv.Corpus(t, sub)
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
				return err
			}
			r, err := capfile.Open(path)
			if err != nil {
				return nil // the corpus holds broken files on purpose
			}
			defer r.Close()
			tagger := fingerprint.NewTagger(0)
			var p capfile.Packet
			for {
				if err := r.Next(&p); err != nil {
					return nil
				}
				var rec record.Record
				if decode.Decode(decode.LinkType(p.LinkType), p.Data, &rec) != decode.OK {
					continue
				}
				tagger.Tag(&rec)
				recs = append(recs, rec)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

func TestRoundTripCorpus(t *testing.T) {
	recs := corpusRecords(t)
	var inner, v6, opts, tagged int
	for i := range recs {
		r := &recs[i]
		inner += int(bit(r.Inner.Valid))
		v6 += int(bit(r.Src.Is6()))
		opts += int(bit(r.Options.LayoutLen > 0))
		tagged += int(bit(r.Tags != 0))
	}
	// The corpus must exercise every part of the codec, or this test proves little.
	if len(recs) < 5000 || inner == 0 || v6 == 0 || opts == 0 || tagged == 0 {
		t.Fatalf("corpus too thin: %d records, %d with quoted packets, %d IPv6, %d with TCP options, %d tagged", len(recs), inner, v6, opts, tagged)
	}
	const size = 1000
	for start := 0; start < len(recs); start += size {
		chunk := recs[start:min(start+size, len(recs))]
		b, err := EncodeBatch(7, uint64(start/size+1), time.Unix(0, 42), chunk)
		if err != nil {
			t.Fatal(err)
		}
		// Through the bytes a spool keeps, as the collector receives them.
		raw, err := proto.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		var got sensorv1.Batch
		if err := proto.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if got.Epoch != 7 || got.Seq != uint64(start/size+1) || got.CreatedNs != 42 || int(got.Count) != len(chunk) {
			t.Fatalf("batch header %v", &got)
		}
		out, err := DecodeRecords(&got, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(chunk) {
			t.Fatalf("%d records back of %d", len(out), len(chunk))
		}
		for i := range chunk {
			if out[i] != chunk[i] {
				t.Fatalf("record %d:\n got %+v\nwant %+v", start+i, out[i], chunk[i])
			}
		}
	}
	t.Logf("%d records round-tripped (%d with quoted packets, %d IPv6, %d with options, %d tagged)", len(recs), inner, v6, opts, tagged)
}

func TestDecodeRefusesCorruptBatches(t *testing.T) {
	recs := []record.Record{{Time: 1, Src: record.MustParseAddr("192.0.2.1"), Dst: record.MustParseAddr("198.18.0.1"), IPVersion: 4, Protocol: 6}}
	good, err := EncodeBatch(1, 1, time.Now(), recs)
	if err != nil {
		t.Fatal(err)
	}
	compress := func(c *sensorv1.Records) []byte {
		raw, err := proto.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return encoder.EncodeAll(raw, nil)
	}
	cols := func(edit func(*sensorv1.Records)) []byte {
		c := columns(recs)
		edit(c)
		return compress(c)
	}
	for _, tc := range []struct {
		name  string
		count uint32
		data  []byte
		want  string
	}{
		{"count larger than the columns", 2, good.RecordsZstd, "has 1 values for 2 records"},
		{"too many records", MaxBatchRecords + 1, good.RecordsZstd, "at most"},
		{"not zstd", 1, []byte("hello, collector"), "zstd"},
		{"truncated zstd", 1, good.RecordsZstd[:len(good.RecordsZstd)-3], "zstd"},
		{"not protobuf", 1, encoder.EncodeAll([]byte{0xff, 0xff, 0xff}, nil), "corrupt"},
		{"missing column", 1, cols(func(c *sensorv1.Records) { c.Tags = nil }), "column tags"},
		{"wide IPv4 source", 1, cols(func(c *sensorv1.Records) { c.SrcLo[0] = 1 << 40 }), "wider than 32 bits"},
		{"IP version 5", 1, cols(func(c *sensorv1.Records) { c.Ip[0] = 5 << 24 }), "IP version 5"},
		{"flags out of range", 1, cols(func(c *sensorv1.Records) { c.TcpFlags[0] = 0x100 }), "out of range"},
		{"decompresses past the bound", 1, encoder.EncodeAll(make([]byte, 4*maxRecordBytes), nil), "beyond its record count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRecords(&sensorv1.Batch{Count: tc.count, RecordsZstd: tc.data}, nil)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrCorrupt mentioning %q", err, tc.want)
			}
		})
	}
}

func TestEncodeRefusesOversizedBatch(t *testing.T) {
	if _, err := EncodeBatch(1, 1, time.Now(), make([]record.Record, MaxBatchRecords+1)); err == nil {
		t.Fatal("no error")
	}
}

// FuzzDecodeRecords: a batch comes from the network; whatever its bytes,
// decoding returns records or ErrCorrupt, never panics, and what it accepts
// is its claimed count of records and encodes back to records equal to
// themselves. testdata/fuzz holds a compression bomb among the seeds.
func FuzzDecodeRecords(f *testing.F) {
	recs := []record.Record{
		{Time: 1, Src: record.MustParseAddr("192.0.2.1"), Dst: record.MustParseAddr("198.18.0.1"), IPVersion: 4, Protocol: 6, DstPort: 23, Tags: record.TagMirai},
		{Time: 2, Src: record.MustParseAddr("2001:db8::1"), Dst: record.MustParseAddr("2001:db8::2"), IPVersion: 6, Protocol: 17},
	}
	b, _ := EncodeBatch(1, 1, time.Unix(0, 0), recs)
	raw, _ := proto.Marshal(columns(recs))
	f.Add(uint32(2), raw, false)
	f.Add(uint32(2), b.RecordsZstd, true)
	f.Add(uint32(0), []byte{}, false)
	f.Fuzz(func(t *testing.T, count uint32, data []byte, compressed bool) {
		if !compressed {
			data = encoder.EncodeAll(data, nil)
		}
		out, err := DecodeRecords(&sensorv1.Batch{Count: count % 64, RecordsZstd: data}, nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if len(out) != int(count%64) {
			t.Fatalf("%d records accepted from a batch of %d", len(out), count%64)
		}
		again, err := EncodeBatch(1, 1, time.Unix(0, 0), out)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeRecords(again, nil)
		if err != nil || len(back) != len(out) {
			t.Fatalf("re-encoded batch: %v", err)
		}
		for i := range out {
			if back[i] != out[i] {
				t.Fatalf("record %d changed: %+v -> %+v", i, out[i], back[i])
			}
		}
	})
}

// TestCompressionBombRefusedBeforeDecompressing: a batch that claims one
// record but expands to 64 MiB is refused as oversized, and decoding it
// allocates a small fraction of what it expands to — whether its frame
// declares its size (one segment, as EncodeAll writes it) or streams with
// a small window.
func TestCompressionBombRefusedBeforeDecompressing(t *testing.T) {
	const expanded = 64 << 20
	zeros := make([]byte, expanded)
	streamed := func() []byte {
		var buf bytes.Buffer
		w, err := zstd.NewWriter(&buf, zstd.WithWindowSize(zstd.MinWindowSize), zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(zeros); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for name, bomb := range map[string][]byte{
		"single segment": encoder.EncodeAll(zeros, nil),
		"streamed":       streamed(),
	} {
		t.Run(name, func(t *testing.T) {
			b := &sensorv1.Batch{Epoch: 1, Seq: 1, Count: 1, RecordsZstd: bomb}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := DecodeRecords(b, nil)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrOversized) || !errors.Is(err, ErrCorrupt) {
				t.Errorf("DecodeRecords(%d-byte bomb of %d MiB) = %v, want ErrOversized", len(bomb), expanded>>20, err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("decoding a %d-byte bomb allocated %d MiB, want at most 4 MiB", len(bomb), alloc>>20)
			}
		})
	}
}
