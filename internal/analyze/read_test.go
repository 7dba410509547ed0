package analyze

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
)

// ethSYN is an Ethernet/IPv4/TCP SYN 192.0.2.1:40000 > 198.18.1.1:23
// (tcpdump -X):
//
//	0x0000:  4500 0028 0001 0000 4006 0000 c000 0201  E..(....@.......
//	0x0010:  c612 0101 9c40 0017 0000 0007 0000 0000  .....@..........
//	0x0020:  5002 0400 0000 0000                      P.......
var ethSYN = append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00},
	0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
	0xc6, 0x12, 0x01, 0x01, 0x9c, 0x40, 0x00, 0x17, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00,
	0x50, 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00)

func writeSYNs(t *testing.T, path string, n int) {
	t.Helper()
	w, err := capfile.Create(path, uint32(decode.LinkEthernet))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.WritePacket(int64(1719792000+i)*1e9, ethSYN); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTruncatedUnderneath: a memory-mapped capture cut short by another
// process while it is read yields an error, not a crash, and the packets
// read before stay counted.
func TestTruncatedUnderneath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shrinking.pcap")
	writeSYNs(t, path, 200_000) // ~11 MB, many pages
	r, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := os.Truncate(path, 4096); err != nil {
		t.Fatal(err)
	}
	a := New(DefaultConfig(), nil)
	res := FileResult{}
	err = a.readAll(t.Context(), r, path, nil, &res)
	if !errors.Is(err, ErrFileChanged) {
		t.Fatalf("readAll() error = %v, want ErrFileChanged", err)
	}
	if a.Frames() == 0 || a.Frames() >= 200_000 {
		t.Errorf("frames read = %d, want the ones before the cut", a.Frames())
	}
	if rep := a.Report(); rep.Packets != a.Frames() {
		t.Errorf("packets = %d, want every frame read (%d) counted", rep.Packets, a.Frames())
	}
}

func TestReadStream(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "syns.pcap.gz")
	writeSYNs(t, path, 10)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a := New(DefaultConfig(), nil)
	if err := a.ReadStream(t.Context(), "-", bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	if rep.Packets != 10 || rep.Files[0].Path != "-" || rep.Sensors[0].TopPorts[0].Port != "23/TCP" {
		t.Errorf("report = %d packets, files %+v, sensors %+v", rep.Packets, rep.Files, rep.Sensors)
	}
}
