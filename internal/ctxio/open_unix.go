//go:build unix

package ctxio

import (
	"os"
	"syscall"
)

// wakeOpen ends an open of the FIFO at path that waits for a writer, by
// being that writer for an instant; for any other file it does nothing.
func wakeOpen(path string) {
	if fi, err := os.Stat(path); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
}
