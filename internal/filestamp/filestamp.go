// Package filestamp tells whether files changed since they were last
// read, for the reference data that daemons reload without a restart
// (GeoIP databases, scanner lists): a file's size, modification time and
// inode, so that both an update written in place and one renamed over the
// old file are seen.
package filestamp

import (
	"context"
	"os"
	"slices"
	"time"
)

// Stamp identifies one version of a file.
type Stamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

// Of returns the stamps of paths, in order, or the error of the first
// that cannot be read.
func Of(paths ...string) ([]Stamp, error) {
	out := make([]Stamp, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		out[i] = Stamp{size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi)}
	}
	return out, nil
}

// Changed reports whether two lists of stamps of the same paths differ.
func Changed(before, now []Stamp) bool { return !slices.Equal(before, now) }

// Poll calls check every interval until ctx ends: how a watcher of
// reference files runs.
func Poll(ctx context.Context, interval time.Duration, check func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			check()
		}
	}
}
