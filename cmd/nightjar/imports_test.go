package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// TestIngestCopies: a capture is imported once whatever its packaging. A
// compressed copy is recognised by its decompressed content; a cut copy,
// whose content differs, by its packets overlapping, for the same sensors,
// the period of the import they came from: it is refused, or imported with
// a warning under --force. The stored counts change only then.
func TestIngestCopies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pcap, fleetFile, db := filepath.Join(dir, "s.pcap"), filepath.Join(dir, "fleet.yaml"), filepath.Join(dir, "t.duckdb")
	if code, _, stderr := nightjar(t, "simulate", "-q", "--out", pcap, "--fleet-out", fleetFile,
		"--start", "2024-07-01", "--days", "10", "--packets", "20000"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	later := filepath.Join(dir, "later.pcap") // the next days: no overlap
	if code, _, stderr := nightjar(t, "simulate", "-q", "--out", later, "--sensors", fleetFile,
		"--start", "2024-07-12", "--days", "5", "--packets", "5000"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", fleetFile, pcap); code != 0 {
		t.Fatalf("ingest: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	imported, firstDays := storedCounts(t, db), storedCountsUntil(t, db, "2024-07-11")

	data, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string][]byte{"s_copy.pcap.gz": testenv.Gzip(t, data), "s_copy.pcap.zst": testenv.Zstd(t, data)}
	for name, content := range copies {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := nightjar(t, "ingest", "-q", "--db", db, path)
		if want := path + ": already imported on "; code != 0 || !strings.HasPrefix(stdout, want) || stderr != "" {
			t.Errorf("ingest %s: exit %d, stdout %q, stderr %q; want exit 0 and %q...", name, code, stdout, stderr, want)
		}
	}
	if diff := cmp.Diff(storedCounts(t, db), imported); diff != "" {
		t.Errorf("counts after the compressed copies (-got, +want):\n%s", diff)
	}

	cutMid := filepath.Join(dir, "s_cut_mid.pcap")
	cutEdge := filepath.Join(dir, "s_cut_edge.pcap")
	if err := os.WriteFile(cutMid, data[:len(data)/2+7], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cutEdge, data[:pcapRecordEnd(t, data, len(data)/2)], 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := nightjar(t, "ingest", "-q", "--db", db, cutMid, cutEdge, later)
	if code != 1 {
		t.Errorf("ingest of the cut copies and a later capture: exit %d, want 1", code)
	}
	for _, cut := range []string{cutMid, cutEdge} {
		if want := "nightjar: " + cut + ": refused: its packets of "; !strings.Contains(stderr, want) {
			t.Errorf("ingest stderr:\n%s\nwant %q...", stderr, want)
		}
		if want := " overlap those of " + pcap + ", imported on "; !strings.Contains(stderr, want) {
			t.Errorf("ingest stderr:\n%s\nwant %q...", stderr, want)
		}
	}
	if want := "nightjar: 2 of 3 capture file(s) refused: their packets overlap earlier imports; nothing of them is stored (--force imports them anyway)\n"; !strings.HasSuffix(stderr, want) {
		t.Errorf("ingest stderr:\n%s\nwant it to end with %q", stderr, want)
	}
	if want := later + ": 5,000 packets stored"; !strings.Contains(stdout, want) || strings.Contains(stdout, "s_cut") {
		t.Errorf("ingest stdout:\n%s\nwant %q... and nothing stored of the cut copies", stdout, want)
	}
	afterLater := storedCounts(t, db)
	if afterLater == imported {
		t.Error("counts did not change after importing the later capture")
	}
	// Before the later capture (from 2024-07-12), the counts are those of
	// the first import: nothing of the cut copies is stored.
	if diff := cmp.Diff(storedCountsUntil(t, db, "2024-07-11"), firstDays); diff != "" {
		t.Errorf("counts of the first import's days after the cut copies (-got, +want):\n%s", diff)
	}

	code, stdout, stderr = nightjar(t, "ingest", "-q", "--force", "--db", db, cutEdge)
	if want := "nightjar: warning: " + cutEdge + ": its packets of "; code != 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "imported anyway (--force)") {
		t.Errorf("ingest --force: exit %d, stderr %q; want exit 0 and %q... imported anyway (--force)", code, stderr, want)
	}
	if !strings.Contains(stdout, cutEdge+": ") || !strings.Contains(stdout, " packets stored") {
		t.Errorf("ingest --force stdout %q; want the packets stored", stdout)
	}
	if storedCounts(t, db) == afterLater {
		t.Error("counts did not change after ingest --force of the cut copy")
	}
}

// storedCounts returns what the database answers about 2024Q3: the top
// ports and the tags of every sensor.
func storedCounts(t *testing.T, db string) string {
	t.Helper()
	return storedCountsUntil(t, db, "2024-09-30")
}

// storedCountsUntil returns what the database answers about 2024-07-01 up
// to the day to.
func storedCountsUntil(t *testing.T, db, to string) string {
	t.Helper()
	var all strings.Builder
	for _, q := range []string{"top-ports", "tags"} {
		code, stdout, stderr := nightjar(t, "query", q, "--db", db, "--from", "2024-07-01", "--to", to, "--format", "csv")
		if code != 0 {
			t.Fatalf("query %s: exit %d: %s", q, code, stderr)
		}
		all.WriteString(stdout)
	}
	return all.String()
}

// pcapRecordEnd returns the offset of the first packet boundary at or
// after off in the little-endian classic pcap data: records are a 16-byte
// header whose third field is the captured length, then the packet.
func pcapRecordEnd(t *testing.T, data []byte, off int) int {
	t.Helper()
	at := 24 // the file header
	for at < off {
		if at+16 > len(data) {
			t.Fatalf("no packet boundary after byte %d", off)
		}
		at += 16 + int(binary.LittleEndian.Uint32(data[at+8:]))
	}
	return at
}
