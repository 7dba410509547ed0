package origins

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/filestamp"
)

// Watcher serves lookups from a Set and reopens its files when one of
// them changes (another size, modification time or inode: an update
// written in place, or renamed over the old file). A reload that fails
// keeps the previous Set; lookups never see a half-loaded one, and a Set
// is closed only once no lookup uses it.
type Watcher struct {
	paths []string

	mu     sync.RWMutex // held for reading by lookups, for writing by a swap
	set    *Set
	gen    uint64 // counts the swaps
	stamps []filestamp.Stamp
}

// Watch opens the databases at paths (see Open) and watches them.
func Watch(paths ...string) (*Watcher, error) {
	w := &Watcher{paths: append([]string(nil), paths...)}
	stamps, err := w.currentStamps()
	if err != nil {
		return nil, err
	}
	set, err := Open(paths...)
	if err != nil {
		return nil, err
	}
	w.set, w.stamps = set, stamps
	return w, nil
}

// currentStamps returns the stamps of the files as they are now.
func (w *Watcher) currentStamps() ([]filestamp.Stamp, error) {
	stamps, err := filestamp.Of(w.paths...)
	if err != nil {
		return nil, fmt.Errorf("open GeoIP/ASN database: %w", err)
	}
	return stamps, nil
}

// Lookup returns what the current databases say of a.
func (w *Watcher) Lookup(a netip.Addr) (Origin, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.set.Lookup(a)
}

// With calls fn with the Set in service and its generation, which changes
// with every reload; the Set is not swapped or closed until fn returns.
// The enrich stage looks up a batch of records at a time in one call.
func (w *Watcher) With(fn func(set *Set, generation uint64)) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	fn(w.set, w.gen)
}

// Databases returns the files in service.
func (w *Watcher) Databases() []Database {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.set.Databases()
}

// Check reopens the databases if a file changed since they were opened,
// and reports whether it did. When the new files fail to open (a copy
// still being written, a corrupt download), the databases in service stay
// and the error says why; the next Check tries again.
func (w *Watcher) Check() (bool, error) {
	stamps, err := w.currentStamps()
	if err != nil {
		return false, fmt.Errorf("reload: %w (still using the databases opened before)", err)
	}
	w.mu.RLock()
	changed := filestamp.Changed(w.stamps, stamps)
	w.mu.RUnlock()
	if !changed {
		return false, nil
	}
	set, err := Open(w.paths...)
	if err != nil {
		return false, fmt.Errorf("reload: %w (still using the databases opened before)", err)
	}
	w.mu.Lock()
	old := w.set
	w.set, w.stamps = set, stamps
	w.gen++
	w.mu.Unlock()
	return true, old.Close()
}

// Run checks the files every interval until ctx ends, passing each
// reload (with the databases now in service) or error to report.
func (w *Watcher) Run(ctx context.Context, interval time.Duration, report func([]Database, error)) {
	filestamp.Poll(ctx, interval, func() {
		if reloaded, err := w.Check(); reloaded || err != nil {
			report(w.Databases(), err)
		}
	})
}

// Close closes the databases in service.
func (w *Watcher) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.set == nil {
		return errors.New("origins: watcher already closed")
	}
	err := w.set.Close()
	w.set = nil
	return err
}
