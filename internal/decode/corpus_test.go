package decode

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/testenv"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
)

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
	r, err := capfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var frames []capFrame
	var p capfile.Packet
	for {
		if err := r.Next(&p); err != nil {
			return frames, eofNil(err)
		}
		frames = append(frames, capFrame{link: LinkType(p.LinkType), data: bytes.Clone(p.Data), origLen: int(p.OrigLen)})
	}
}

func eofNil(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// corpusFiles returns the capture files of the corpus subdirectory dir.
func corpusFiles(t testing.TB, dir string) []string {
	t.Helper()
	root := testenv.Corpus(t, dir)
	files, err := filepath.Glob(filepath.Join(root, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no capture files in %s", root)
	}
	return files
}
