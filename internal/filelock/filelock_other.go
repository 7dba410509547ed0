//go:build !unix

package filelock

import "os"

// TryLock opens the file; without flock nothing keeps another process out.
func TryLock(path string, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
}

// Unlock closes the file.
func Unlock(f *os.File) error { return f.Close() }
