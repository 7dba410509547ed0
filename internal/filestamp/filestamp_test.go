package filestamp

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestChanged: a file's stamp changes when it is rewritten in place with
// the same size (the modification time) and when another file of the same
// size and time is renamed over it (the inode); it does not change when
// nothing happened. A missing file is an error.
func TestChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "list.txt")
	write := func(p, s string, at time.Time) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)
	write(path, "aaaa", t0)
	before, err := Of(path)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Of(path); Changed(before, again) {
		t.Error("unchanged file: Changed = true")
	}
	write(path, "bbbb", t0.Add(time.Second))
	inPlace, _ := Of(path)
	if !Changed(before, inPlace) {
		t.Error("rewritten in place: Changed = false")
	}
	other := filepath.Join(dir, "new.txt")
	write(other, "cccc", t0.Add(time.Second)) // same size and time as the file in place
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if renamed, _ := Of(path); !Changed(inPlace, renamed) {
		t.Error("renamed over: Changed = false")
	}
	if _, err := Of(filepath.Join(dir, "missing")); err == nil {
		t.Error("Of(missing file) succeeded")
	}
}

// TestPoll: Poll calls check on every tick and returns when its context
// ends.
func TestPoll(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Poll(ctx, time.Millisecond, func() {
			if calls++; calls == 3 {
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Poll did not return after its context ended")
	}
	if calls != 3 {
		t.Errorf("check called %d times, want 3", calls)
	}
}
