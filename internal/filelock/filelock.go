// Package filelock holds an advisory, exclusive lock on a file (flock on
// Unix), the way Nightjar keeps two processes out of one spool, registry
// or database. The kernel drops the lock when the process ends, however it
// ends.
package filelock

import "errors"

// ErrLocked reports that another open file description holds the lock.
var ErrLocked = errors.New("locked by another process")
