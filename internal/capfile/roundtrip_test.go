package capfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// testPackets returns n packets of varied sizes and nanosecond times.
func testPackets(n int) []Packet {
	pkts := make([]Packet, n)
	for i := range pkts {
		data := make([]byte, (i*37)%1600)
		for j := range data {
			data[j] = byte(i + j)
		}
		pkts[i] = Packet{
			Time:     1700000000*1e9 + int64(i)*1234567 + int64(i%1000),
			LinkType: 1,
			Data:     data,
			OrigLen:  uint32(len(data)),
		}
	}
	return pkts
}

func writeFile(t *testing.T, path string, pkts []Packet) {
	t.Helper()
	w, err := Create(path, 1)
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(p.Time, p.Data); err != nil {
			t.Fatalf("WritePacket() error = %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
}

func readBack(t *testing.T, r *Reader) []Packet {
	t.Helper()
	var got []Packet
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("Next() error = %v", err)
		}
		p.Data = bytes.Clone(p.Data)
		got = append(got, p)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	pkts := testPackets(3000)
	for _, name := range []string{"plain.pcap", "c.pcap.gz", "c.pcap.zst"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), name)
			writeFile(t, path, pkts)
			r, err := Open(path)
			if err != nil {
				t.Fatalf("Open() error = %v", err)
			}
			defer r.Close()
			got := readBack(t, r)
			if diff := diffPackets(got, pkts); diff != "" {
				t.Errorf("Next() (-got, +want):\n%s", diff)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			done, total := r.Progress()
			if done != st.Size() || total != st.Size() {
				t.Errorf("Progress() = %d, %d, want %d, %d", done, total, st.Size(), st.Size())
			}
		})
	}
}

// TestRoundTripStream reads compressed streams through NewReader, as for
// standard input, and truncated compressed streams.
func TestRoundTripStream(t *testing.T) {
	t.Parallel()
	pkts := testPackets(500)
	dir := t.TempDir()
	for _, name := range []string{"s.pcap", "s.pcap.gz", "s.pcap.zst"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, name)
			writeFile(t, path, pkts)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(name, io.MultiReader(bytes.NewReader(data))) // hide the concrete type
			if err != nil {
				t.Fatalf("NewReader() error = %v", err)
			}
			got := readBack(t, r)
			r.Close()
			if diff := diffPackets(got, pkts); diff != "" {
				t.Errorf("Next() (-got, +want):\n%s", diff)
			}

			// Cut the stream in half: a FormatError after some packets.
			got, err = readAll(t, name, data[:len(data)/2])
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrTruncated) {
				t.Fatalf("Next() on a truncated stream error = %v, want a *FormatError wrapping ErrTruncated", err)
			}
			if len(got) == 0 || len(got) >= len(pkts) {
				t.Errorf("Next() returned %d packets before the truncation, want some of %d", len(got), len(pkts))
			}
			if diff := diffPackets(got, pkts[:len(got)]); diff != "" {
				t.Errorf("Next() (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestCorruptCompressedStream(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.pcap.gz")
	writeFile(t, path, testPackets(500))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(data) / 2; i < len(data)/2+64; i++ {
		data[i] ^= 0x55
	}
	_, err = readAll(t, "c.pcap.gz", data)
	if !errors.Is(err, ErrCompression) && !errors.Is(err, ErrBadLength) {
		t.Errorf("Next() error = %v, want ErrCompression (or a bad record decoded from garbage)", err)
	}
}

// TestStdio goes through "-" for both Create and Open, with os.Stdout and
// os.Stdin replaced by pipes; the stream is zstd-compressed in between.
func TestStdio(t *testing.T) {
	// Not parallel: replaces os.Stdin and os.Stdout.
	pkts := testPackets(200)
	var plain bytes.Buffer
	{
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := os.Stdout
		os.Stdout = pw
		done := make(chan []byte)
		go func() { b, _ := io.ReadAll(pr); done <- b }()
		w, err := Create("-", 1)
		if err != nil {
			t.Fatalf("Create(-) error = %v", err)
		}
		for _, p := range pkts {
			if err := w.WritePacket(p.Time, p.Data); err != nil {
				t.Fatalf("WritePacket() error = %v", err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close() error = %v", err)
		}
		os.Stdout = old
		pw.Close()
		plain.Write(<-done)
	}
	var zst bytes.Buffer
	{
		path := filepath.Join(t.TempDir(), "s.pcap.zst")
		writeFile(t, path, pkts)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		zst.Write(b)
	}
	for name, input := range map[string][]byte{"plain": plain.Bytes(), "zstd": zst.Bytes()} {
		t.Run(name, func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			old := os.Stdin
			os.Stdin = pr
			t.Cleanup(func() { os.Stdin = old; pr.Close() })
			go func() { pw.Write(input); pw.Close() }()
			r, err := Open("-")
			if err != nil {
				t.Fatalf("Open(-) error = %v", err)
			}
			got := readBack(t, r)
			if diff := diffPackets(got, pkts); diff != "" {
				t.Errorf("Next() (-got, +want):\n%s", diff)
			}
			if _, total := r.Progress(); total != -1 {
				t.Errorf("Progress() total = %d, want -1 for a pipe", total)
			}
			if err := r.Close(); err != nil {
				t.Errorf("Close() error = %v", err)
			}
		})
	}
}

// TestWriterOracle checks the Writer's output with pcapgo, including a
// packet above the snaplen and one larger than the write buffer.
func TestWriterOracle(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	const snaplen = 2 << 20
	w, err := NewWriter(&buf, 101, snaplen)
	if err != nil {
		t.Fatal(err)
	}
	pkts := testPackets(100)
	pkts = append(pkts, Packet{Time: 5, LinkType: 1, Data: bytes.Repeat([]byte{7}, 3<<20), OrigLen: 3 << 20})
	for _, p := range pkts {
		if err := w.WritePacket(p.Time, p.Data); err != nil {
			t.Fatalf("WritePacket() error = %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if err := w.WritePacket(0, nil); !errors.Is(err, ErrWriterClosed) {
		t.Errorf("WritePacket() after Close error = %v, want ErrWriterClosed", err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatalf("pcapgo.NewReader() error = %v", err)
	}
	if r.LinkType() != 101 || r.Snaplen() != snaplen {
		t.Errorf("header link type %d snaplen %d, want 101 %d", r.LinkType(), r.Snaplen(), snaplen)
	}
	for i, want := range pkts {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: ReadPacketData() error = %v", i, err)
		}
		wantData := want.Data[:min(len(want.Data), snaplen)]
		got := Packet{Time: ci.Timestamp.UnixNano(), LinkType: 1, Data: data, OrigLen: uint32(ci.Length)}
		want.Data = wantData
		if diff := diffPackets([]Packet{got}, []Packet{want}); diff != "" {
			t.Fatalf("packet %d: ReadPacketData() (-got, +want):\n%s", i, diff)
		}
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Errorf("ReadPacketData() at end error = %v, want io.EOF", err)
	}
}

func TestWriterTimestampRange(t *testing.T) {
	t.Parallel()
	w, err := NewWriter(io.Discard, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		ts      int64
		wantErr bool
	}{
		"epoch":          {ts: 0},
		"last second":    {ts: (1<<32)*1e9 - 1},
		"negative":       {ts: -1, wantErr: true},
		"after 2106":     {ts: (1 << 32) * 1e9, wantErr: true},
		"year 2026 nsec": {ts: 1767225600123456789},
	}
	for name, tt := range tests {
		if err := w.WritePacket(tt.ts, frame); (err != nil) != tt.wantErr {
			t.Errorf("%s: WritePacket(%d) error = %v, want error %v", name, tt.ts, err, tt.wantErr)
		}
	}
}

// TestDecompressed: the stream of a capture is the same bytes whether the
// file holding it is plain, gzip- or zstd-compressed.
func TestDecompressed(t *testing.T) {
	dir := t.TempDir()
	pkts := testPackets(500)
	want := map[string]bool{"c.pcap": false, "c.pcap.gz": true, "c.pcap.zst": true}
	streams := map[string][]byte{}
	for name := range want {
		path := filepath.Join(dir, name)
		writeFile(t, path, pkts)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stream, compressed, err := Decompressed(path, f)
		if err != nil {
			t.Fatalf("Decompressed(%s) = %v", name, err)
		}
		if streams[name], err = io.ReadAll(stream); err != nil {
			t.Fatalf("read the stream of %s: %v", name, err)
		}
		if err := stream.Close(); err != nil {
			t.Errorf("Close() the stream of %s = %v", name, err)
		}
		if compressed != want[name] {
			t.Errorf("Decompressed(%s) compressed = %v, want %v", name, compressed, want[name])
		}
	}
	for name, got := range streams {
		if !bytes.Equal(got, streams["c.pcap"]) {
			t.Errorf("the stream of %s (%d bytes) differs from the plain file's (%d bytes)", name, len(got), len(streams["c.pcap"]))
		}
	}
	if _, _, err := Decompressed("bad.gz", bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})); !errors.Is(err, ErrCompression) {
		t.Errorf("Decompressed(a bad gzip header) = %v, want ErrCompression", err)
	}
}
