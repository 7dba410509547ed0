package pki

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/filelock"
)

// lockTimeout is how long a change waits for another process's change.
const lockTimeout = 10 * time.Second

// lockDir takes the registry's advisory lock (.lock), which every change
// holds, and returns its release.
func lockDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFile)
	deadline := time.Now().Add(lockTimeout)
	for {
		f, err := filelock.TryLock(path, 0o600)
		if err == nil {
			return func() { filelock.Unlock(f) }, nil
		}
		if !errors.Is(err, filelock.ErrLocked) {
			return nil, fmt.Errorf("lock registry %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock registry: another process has held %s for %v", path, lockTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
