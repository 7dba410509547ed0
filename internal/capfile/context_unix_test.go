//go:build unix

package capfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.pcap")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	return path
}

// TestOpenContextFIFONoWriter: opening a FIFO nobody writes to waits for
// a writer; cancelling ends the wait.
func TestOpenContextFIFONoWriter(t *testing.T) {
	t.Parallel()
	path := mkfifo(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	r, err := OpenContext(ctx, path)
	if err == nil {
		r.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("OpenContext() error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("OpenContext() returned %v after the cancellation, want promptly", d)
	}
}

// TestOpenContextFIFOSilentWriter: a read blocked on a FIFO whose writer
// sent a file header and then nothing returns on cancellation.
func TestOpenContextFIFOSilentWriter(t *testing.T) {
	t.Parallel()
	for name, header := range map[string][]byte{
		"pcap":        pcapHeader(le, magicMicros, 65535, 1),
		"pcapng":      cat(shb(le), idb(le, 1, 0)),
		"gzip'd pcap": gzipped(t, pcapHeader(le, magicMicros, 65535, 1)),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := mkfifo(t)
			go func() {
				w, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				w.Write(header)
				<-t.Context().Done() // holds the FIFO open, silent
				w.Close()
			}()
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			// The header may be read by OpenContext (a gzip stream's end
			// makes it look for another) or by Next.
			r, err := OpenContext(ctx, path)
			if err == nil {
				var p Packet
				err = r.Next(&p)
				if cerr := r.Close(); cerr != nil {
					t.Errorf("Close() = %v", cerr)
				}
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("reading error = %v, want context.Canceled", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("reading returned %v after the cancellation, want promptly", d)
			}
		})
	}
}
