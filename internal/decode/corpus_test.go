package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// corpusDir holds the shared capture corpus (see its README).
const corpusDir = "../../../shared/corpus"

// capFrame is one frame read from a capture file.
type capFrame struct {
	link    LinkType
	data    []byte
	origLen int // length on the wire
}

// readFrames reads every frame of the pcap or pcapng file at path, stopping
// at the first read error, which it returns (nil at a clean end of file).
//
// It is the only place the tests read capture files; package capfile will
// replace it. It should use gopacket's pcapgo, but pcapgo imports
// golang.org/x/net/bpf, which has no go.sum entry in this module yet, so
// this is a minimal reader of the two formats (little- and big-endian pcap
// with micro- or nanosecond stamps; pcapng section, interface, enhanced,
// simple and obsolete packet blocks).
func readFrames(t testing.TB, path string) ([]capFrame, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 4 {
		return nil, errors.New("file shorter than a magic number")
	}
	if binary.LittleEndian.Uint32(b) == 0x0a0d0d0a {
		return readPcapng(b)
	}
	return readPcap(b)
}

// maxFrame is the largest captured length accepted, as in libpcap.
const maxFrame = 262144

func readPcap(b []byte) ([]capFrame, error) {
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("unknown magic %#x", b[:4])
	}
	if len(b) < 24 {
		return nil, errors.New("truncated pcap file header")
	}
	link := LinkType(bo.Uint32(b[20:]) & 0x03ffffff)
	var frames []capFrame
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return frames, errors.New("truncated record header")
		}
		caplen, origLen := int(bo.Uint32(b[off+8:])), int(bo.Uint32(b[off+12:]))
		if caplen > maxFrame {
			return frames, fmt.Errorf("captured length %d too large", caplen)
		}
		off += 16
		if off+caplen > len(b) {
			return frames, errors.New("truncated record")
		}
		frames = append(frames, capFrame{link: link, data: b[off : off+caplen : off+caplen], origLen: origLen})
		off += caplen
	}
	return frames, nil
}

func readPcapng(b []byte) ([]capFrame, error) {
	var (
		bo     binary.ByteOrder = binary.LittleEndian
		links  []LinkType
		frames []capFrame
	)
	for off := 0; off < len(b); {
		if off+12 > len(b) {
			return frames, errors.New("truncated block header")
		}
		typ := bo.Uint32(b[off:])
		if typ == 0x0a0d0d0a {
			switch binary.LittleEndian.Uint32(b[off+8:]) {
			case 0x1a2b3c4d:
				bo = binary.LittleEndian
			case 0x4d3c2b1a:
				bo = binary.BigEndian
			default:
				return frames, errors.New("bad byte-order magic")
			}
			links = links[:0]
		}
		blen := int(bo.Uint32(b[off+4:]))
		if blen < 12 || blen%4 != 0 || off+blen > len(b) {
			return frames, fmt.Errorf("bad block length %d", blen)
		}
		body := b[off+8 : off+blen-4]
		off += blen
		var (
			iface           int
			caplen, origLen int
			data            []byte
		)
		switch typ {
		case 1: // interface description
			if len(body) < 8 {
				return frames, errors.New("truncated interface block")
			}
			links = append(links, LinkType(bo.Uint16(body)))
			continue
		case 6: // enhanced packet
			if len(body) < 20 {
				return frames, errors.New("truncated packet block")
			}
			iface, caplen, origLen, data = int(bo.Uint32(body)), int(bo.Uint32(body[12:])), int(bo.Uint32(body[16:])), body[20:]
		case 3: // simple packet
			if len(body) < 4 {
				return frames, errors.New("truncated packet block")
			}
			origLen, data = int(bo.Uint32(body)), body[4:]
			caplen = min(origLen, len(data))
		case 2: // obsolete packet
			if len(body) < 20 {
				return frames, errors.New("truncated packet block")
			}
			iface, caplen, origLen, data = int(bo.Uint16(body)), int(bo.Uint32(body[12:])), int(bo.Uint32(body[16:])), body[20:]
		default:
			continue
		}
		if iface >= len(links) {
			return frames, fmt.Errorf("packet on undeclared interface %d", iface)
		}
		if caplen > len(data) || caplen > maxFrame {
			return frames, fmt.Errorf("bad captured length %d", caplen)
		}
		frames = append(frames, capFrame{link: links[iface], data: data[:caplen:caplen], origLen: origLen})
	}
	return frames, nil
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
