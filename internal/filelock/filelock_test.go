package filelock

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestSecondLockRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	f, err := TryLock(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := TryLock(path, 0o600); !errors.Is(err, ErrLocked) {
		if g != nil {
			Unlock(g)
		}
		t.Fatalf("second TryLock error = %v, want ErrLocked", err)
	}
	if err := Unlock(f); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	g, err := TryLock(path, 0o600)
	if err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
	Unlock(g)
}

// TestRelockWhileChildrenStart: a lock released and taken again in the same
// process is free although other goroutines keep starting child processes,
// which hold a copy of the descriptor between fork and exec. CI once failed
// on this in the sensor's spool.
func TestRelockWhileChildrenStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = exec.Command("true").Run()
		}
	}()
	defer func() { close(stop); <-done }()
	for i := range 300 {
		f, err := TryLock(path, 0o600)
		if err != nil {
			t.Fatalf("lock %d: %v", i, err)
		}
		if err := Unlock(f); err != nil {
			t.Fatalf("unlock %d: %v", i, err)
		}
	}
}
