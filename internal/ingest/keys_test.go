package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/testenv"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

func sha(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// writeTemp writes data to a new file named name and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFileKeys: a capture's content key is the SHA-256 of its bytes
// decompressed, whatever the compression; a compressed file also has the
// key of its compressed bytes, which imports recorded before. A damaged
// compressed stream is keyed by what it decompresses to before the damage.
func TestFileKeys(t *testing.T) {
	path, _, _ := capture(t, 1_000)
	plain, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gz, zst := testenv.Gzip(t, plain), testenv.Zstd(t, plain)
	cutGz := gz[:len(gz)/2]
	for _, tc := range []struct {
		name string
		data []byte
		want keys
	}{
		{"plain", plain, keys{content: sha(plain)}},
		{"gzip", gz, keys{content: sha(plain), legacy: sha(gz)}},
		{"zstd", zst, keys{content: sha(plain), legacy: sha(zst)}},
		{"gzip with trailing bytes", append(gz[:len(gz):len(gz)], "junk"...), keys{content: sha(plain), legacy: sha(append(gz[:len(gz):len(gz)], "junk"...))}},
		{"empty", nil, keys{content: sha(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fileKeys(t.Context(), writeTemp(t, "c", tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want, cmp.AllowUnexported(keys{})); diff != "" {
				t.Errorf("fileKeys() (-got, +want):\n%s", diff)
			}
		})
	}

	t.Run("gzip cut short", func(t *testing.T) {
		cut := writeTemp(t, "cut.pcap.gz", cutGz)
		got, err := fileKeys(t.Context(), cut)
		if err != nil {
			t.Fatalf("fileKeys() of a cut gzip file = %v, want the key of what it decompresses to", err)
		}
		again, err := fileKeys(t.Context(), cut)
		if err != nil || got != again {
			t.Errorf("fileKeys() twice = %+v, then %+v, %v; want the same", got, again, err)
		}
		if got.content == sha(plain) || got.legacy != sha(cutGz) {
			t.Errorf("fileKeys() = %+v; want a content key of its own and the legacy key %s", got, sha(cutGz))
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for name, data := range map[string][]byte{"plain": plain, "gzip": gz} {
			if _, err := fileKeys(ctx, writeTemp(t, name, data)); !errors.Is(err, context.Canceled) {
				t.Errorf("fileKeys(%s) with a cancelled context = %v, want context.Canceled", name, err)
			}
		}
	})
}

// TestFileCompressedCopy: after a capture was imported, a compressed copy
// of it is already imported; and a compressed file imported before
// content keys (recorded under the key of its compressed bytes) is still
// recognised.
func TestFileCompressedCopy(t *testing.T) {
	f := importedCapture(t, 2_000)
	path, plain, st, in := f.path, f.data, f.st, f.in
	for name, data := range map[string][]byte{"copy.pcap.gz": testenv.Gzip(t, plain), "copy.pcap.zst": testenv.Zstd(t, plain)} {
		res, err := in.File(t.Context(), writeTemp(t, name, data), nil)
		if !errors.Is(err, ErrAlreadyImported) || res.Previous.Path != path || len(st.recs) != int(f.truth.Packets) || len(st.imports) != 1 {
			t.Errorf("File(%s) = %+v, %v with %d records and %d imports stored; want ErrAlreadyImported naming %s, nothing more",
				name, res, err, len(st.recs), len(st.imports), path)
		}
	}

	gz := testenv.Gzip(t, plain)
	old := &memStore{}
	if err := old.Flush(t.Context(), memImport(sha(gz), "/old/day1.pcap.gz")); err != nil {
		t.Fatal(err)
	}
	res, err := newIngester(t, old, f.fleet).File(t.Context(), writeTemp(t, "day1.pcap.gz", gz), nil)
	if !errors.Is(err, ErrAlreadyImported) || res.Previous.Path != "/old/day1.pcap.gz" || len(old.recs) != 0 {
		t.Errorf("File() of a file imported under its compressed key = %+v, %v with %d records stored; want ErrAlreadyImported, nothing stored", res, err, len(old.recs))
	}
}

// memImport is an import recorded before spans and content keys.
func memImport(key, path string) store.Import {
	return store.Import{Key: key, Path: path, Frames: 1, Packets: 1}
}

// fixture is a simulated capture imported into a memStore.
type fixture struct {
	path  string
	data  []byte // the capture file's bytes
	fleet *fleet.Fleet
	truth *simulate.Truth
	st    *memStore
	in    *Ingester
}

// importedCapture imports a simulated capture of n packets into a new
// memStore.
func importedCapture(t *testing.T, n uint64) fixture {
	t.Helper()
	f := fixture{st: &memStore{}}
	f.path, f.fleet, f.truth = capture(t, n)
	var err error
	if f.data, err = os.ReadFile(f.path); err != nil {
		t.Fatal(err)
	}
	f.in = newIngester(t, f.st, f.fleet)
	if _, err := f.in.File(t.Context(), f.path, nil); err != nil {
		t.Fatal(err)
	}
	return f
}
