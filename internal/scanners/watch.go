package scanners

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/filestamp"
)

// Source says where one list comes from: a MISP warninglist (a path
// ending in .json) or the user's own list of lines, with its label (a
// warninglist's label defaults to its file name).
type Source struct {
	Path  string
	Label string
}

// Load reads every source (see LoadMISP and LoadText) into one Set.
func Load(sources ...Source) (*Set, error) {
	lists := make([]List, 0, len(sources))
	for _, src := range sources {
		load := LoadText
		if strings.HasSuffix(src.Path, ".json") {
			load = LoadMISP
		}
		l, err := load(src.Path, src.Label)
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	return NewSet(lists...)
}

// Watcher serves labels from the lists of its sources and reloads them
// when a file changes. A reload that fails (a line the user mistyped)
// keeps the lists in service, and its error names the file and line.
type Watcher struct {
	sources []Source
	set     atomic.Pointer[Set]
	stamps  []filestamp.Stamp // of the lists in service; used by Check only
}

// Watch loads the sources and watches their files.
func Watch(sources ...Source) (*Watcher, error) {
	w := &Watcher{sources: append([]Source(nil), sources...)}
	stamps, err := filestamp.Of(w.paths()...)
	if err != nil {
		return nil, fmt.Errorf("scanner list: %w", err)
	}
	set, err := Load(sources...)
	if err != nil {
		return nil, err
	}
	w.set.Store(set)
	w.stamps = stamps
	return w, nil
}

func (w *Watcher) paths() []string {
	out := make([]string, len(w.sources))
	for i, s := range w.sources {
		out[i] = s.Path
	}
	return out
}

// Current returns the Set in service; a reload replaces it with another
// (a Set never changes).
func (w *Watcher) Current() *Set { return w.set.Load() }

// Labels returns the labels of a in the lists in service.
func (w *Watcher) Labels(a netip.Addr) []string { return w.set.Load().Labels(a) }

// Check reloads the lists if a file changed, and reports whether it did.
// Check is not safe for concurrent use with itself (Run calls it).
func (w *Watcher) Check() (bool, error) {
	stamps, err := filestamp.Of(w.paths()...)
	if err != nil {
		return false, fmt.Errorf("reload scanner lists: %w (still using the lists loaded before)", err)
	}
	if !filestamp.Changed(w.stamps, stamps) {
		return false, nil
	}
	set, err := Load(w.sources...)
	if err != nil {
		return false, fmt.Errorf("reload scanner lists: %w (still using the lists loaded before)", err)
	}
	w.set.Store(set)
	w.stamps = stamps
	return true, nil
}

// Run checks the files every interval until ctx ends, passing each
// reload or error to report.
func (w *Watcher) Run(ctx context.Context, interval time.Duration, report func(reloaded bool, err error)) {
	filestamp.Poll(ctx, interval, func() {
		if reloaded, err := w.Check(); reloaded || err != nil {
			report(reloaded, err)
		}
	})
}
