//go:build unix

package pki

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockTimeout is how long a change waits for another process's change.
const lockTimeout = 10 * time.Second

// lockDir takes the registry's advisory lock (flock on .lock), which every
// change holds, and returns its release.
func lockDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock registry: %w", err)
	}
	deadline := time.Now().Add(lockTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("lock registry: another process has held %s for %v", path, lockTimeout)
			}
			return nil, fmt.Errorf("lock registry %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
