package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// corpusDir holds the shared capture corpus (see its README).
const corpusDir = "../../../shared/corpus"

// capFrame is one frame read from a capture file.
type capFrame struct {
	link    LinkType
	data    []byte
	origLen int // length on the wire
}

// readFrames reads every frame of the pcap or pcapng file at path with
// gopacket's pcapgo, stopping at the first read error, which it returns
// (nil at a clean end of file). It is the only place the tests read capture
// files; package capfile will replace it.
func readFrames(t testing.TB, path string) ([]capFrame, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var frames []capFrame
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) == 0x0a0d0d0a {
		r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, err
		}
		for {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				return frames, eofNil(err)
			}
			iface, err := r.Interface(ci.InterfaceIndex)
			if err != nil {
				return frames, err
			}
			frames = append(frames, capFrame{link: LinkType(iface.LinkType), data: data, origLen: ci.Length})
		}
	}
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			return frames, eofNil(err)
		}
		frames = append(frames, capFrame{link: LinkType(r.LinkType()), data: data, origLen: ci.Length})
	}
}

func eofNil(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// corpusFiles returns the capture files of the corpus subdirectory dir,
// skipping the test when the corpus is missing.
func corpusFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		if os.Getenv("NIGHTJAR_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("no capture files in %s", filepath.Join(corpusDir, dir))
		}
		t.Skipf("no capture files in %s: the shared corpus is missing", filepath.Join(corpusDir, dir))
	}
	return files
}
