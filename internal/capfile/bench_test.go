package capfile

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

const benchPackets = 1 << 20

// benchFrame is a 60-byte Ethernet/IPv4/TCP SYN, the size of most
// telescope traffic.
var benchFrame = func() []byte {
	b := make([]byte, 60)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// writeBenchPcap writes benchPackets frames to dir/name with Create.
func writeBenchPcap(b *testing.B, name string) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), name)
	w, err := Create(path, 1)
	if err != nil {
		b.Fatal(err)
	}
	for i := range benchPackets {
		if err := w.WritePacket(1700000000*1e9+int64(i)*1000, benchFrame); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// writeBenchPcapng writes the same frames as Enhanced Packet Blocks.
func writeBenchPcapng(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.pcapng")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.Write(shb(le))
	bw.Write(idb(le, 1, 262144, ngOpt(le, 9, []byte{9})))
	blk := make([]byte, 32+len(benchFrame))
	for i := range benchPackets {
		ts := uint64(1700000000*1e9 + i*1000)
		le.PutUint32(blk[0:], ngBlockEPB)
		le.PutUint32(blk[4:], uint32(len(blk)))
		le.PutUint32(blk[8:], 0)
		le.PutUint32(blk[12:], uint32(ts>>32))
		le.PutUint32(blk[16:], uint32(ts))
		le.PutUint32(blk[20:], uint32(len(benchFrame)))
		le.PutUint32(blk[24:], uint32(len(benchFrame)))
		copy(blk[28:], benchFrame)
		binary.LittleEndian.PutUint32(blk[len(blk)-4:], uint32(len(blk)))
		bw.Write(blk)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// benchRead reads the whole file per iteration with open, and reports
// ns/pkt next to ns/op (the whole file).
func benchRead(b *testing.B, path string, open func(string) (*Reader, error)) {
	b.ReportAllocs()
	b.SetBytes(fileSize(b, path))
	var sum int
	for b.Loop() {
		r, err := open(path)
		if err != nil {
			b.Fatal(err)
		}
		var p Packet
		n := 0
		for {
			if err := r.Next(&p); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			sum += len(p.Data)
			n++
		}
		r.Close()
		if n != benchPackets {
			b.Fatalf("read %d packets, want %d", n, benchPackets)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchPackets, "ns/pkt")
	_ = sum
}

// openBuffered reads through the 1 MiB buffer instead of mmap.
func openBuffered(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newReader(context.Background(), path, f, f)
	if err != nil {
		f.Close()
	}
	return r, err
}

func BenchmarkReadPcap(b *testing.B) {
	path := writeBenchPcap(b, "bench.pcap")
	b.Run("mmap", func(b *testing.B) { benchRead(b, path, Open) })
	b.Run("buffered", func(b *testing.B) { benchRead(b, path, openBuffered) })
}

func BenchmarkReadPcapng(b *testing.B) {
	path := writeBenchPcapng(b)
	b.Run("mmap", func(b *testing.B) { benchRead(b, path, Open) })
	b.Run("buffered", func(b *testing.B) { benchRead(b, path, openBuffered) })
}

func BenchmarkReadGzip(b *testing.B) { benchRead(b, writeBenchPcap(b, "bench.pcap.gz"), Open) }

func BenchmarkReadZstd(b *testing.B) { benchRead(b, writeBenchPcap(b, "bench.pcap.zst"), Open) }

// BenchmarkPcapgoZeroCopy is the same file through pcapgo, for comparison.
func BenchmarkPcapgoZeroCopy(b *testing.B) {
	path := writeBenchPcap(b, "bench.pcap")
	b.ReportAllocs()
	b.SetBytes(fileSize(b, path))
	var sum int
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			data, _, err := r.ZeroCopyReadPacketData()
			if err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			sum += len(data)
			n++
		}
		f.Close()
		if n != benchPackets {
			b.Fatalf("read %d packets, want %d", n, benchPackets)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchPackets, "ns/pkt")
	_ = sum
}

func BenchmarkWriter(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(pcapRecordLen + int64(len(benchFrame)))
	w, err := NewWriter(io.Discard, 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	ts := int64(1700000000e9)
	for b.Loop() {
		ts += 1000
		if err := w.WritePacket(ts, benchFrame); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkNextInMemory isolates the parsing cost: the Reader walks a
// file already in memory, as with mmap but without the kernel's share.
func BenchmarkNextInMemory(b *testing.B) {
	for name, path := range map[string]string{
		"pcap":   writeBenchPcap(b, "bench.pcap"),
		"pcapng": writeBenchPcapng(b),
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			var sum int
			for b.Loop() {
				r := &Reader{name: name, buf: data, end: len(data), srcErr: io.EOF, total: int64(len(data))}
				if err := r.start(); err != nil {
					b.Fatal(err)
				}
				var p Packet
				for r.Next(&p) == nil {
					sum += len(p.Data)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchPackets, "ns/pkt")
			_ = sum
		})
	}
}
