//go:build !unix

package spool

import "os"

// lockDir opens the lock file; there is no flock here, so nothing keeps a
// second process out.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
