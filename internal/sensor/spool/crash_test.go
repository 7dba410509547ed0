package spool

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashEnv carries the spool directory and epoch to the child process of
// TestCrash.
const crashEnv = "NIGHTJAR_SPOOL_CRASH_CHILD"

// TestCrashChild is the child process of TestCrash: it puts batches with
// SyncAlways, one per byte it reads, and reports each Put that returned,
// until it is killed.
func TestCrashChild(t *testing.T) {
	arg := os.Getenv(crashEnv)
	if arg == "" {
		t.Skip("helper process of TestCrash")
	}
	dir, epochText, _ := strings.Cut(arg, ",")
	epoch, err := strconv.ParseUint(epochText, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{Sync: SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	// Each Put waits for a go-ahead byte on standard input, so that the
	// parent knows how many Puts can have started when it kills.
	in := bufio.NewReader(os.Stdin)
	for seq := uint64(1); seq <= 100_000; seq++ {
		if _, err := in.ReadByte(); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(testBatch(epoch, seq, time.Now().UnixNano(), uint32(seq), 64<<10+int(seq%1000))); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("put %d\n", seq)
	}
	t.Fatal("not killed")
}

// TestCrash kills a process that is putting batches (SIGKILL, at a random
// point) and checks that the next Open finds every batch whose Put
// returned, at most one more, each complete, and no temporary file.
func TestCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for round := range 5 {
		epoch := uint64(round + 1)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", crashEnv, dir, epoch))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		goAhead, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		watchdog := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
		killAfter := 5 + rand.IntN(30)
		last := uint64(0)
		lines := bufio.NewScanner(out)
		goAhead.Write([]byte{1}) //nolint:errcheck // a dead child shows below
		for lines.Scan() {
			n, ok := strings.CutPrefix(lines.Text(), "put ")
			if !ok {
				continue
			}
			if last, err = strconv.ParseUint(n, 10, 64); err != nil {
				t.Fatal(err)
			}
			// Let the next Put start; after killAfter, kill it somewhere
			// inside: at most one Put is under way.
			goAhead.Write([]byte{1}) //nolint:errcheck // a dead child shows below
			if last == uint64(killAfter) {
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		cmd.Wait()
		watchdog.Stop()
		if last != uint64(killAfter) {
			t.Fatalf("round %d: child stopped after %d puts, before it was killed", round, last)
		}

		t.Logf("round %d: %d temporary files before Open", round, countFiles(t, dir, tmpSuffix))
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, e := range s.Pending() {
			if e.Epoch != epoch {
				continue
			}
			if _, err := s.Read(e); err != nil {
				t.Errorf("round %d: Read(%v) error = %v", round, e, err)
			}
			seqs = append(seqs, e.Seq)
		}
		if n := uint64(len(seqs)); n < last || n > last+1 {
			t.Errorf("round %d: %d batches after %d returned Puts, want %d or %d", round, n, last, last, last+1)
		}
		for i, seq := range seqs {
			if seq != uint64(i+1) {
				t.Errorf("round %d: batches %v, want 1, 2, 3...", round, seqs)
				break
			}
		}
		if st := s.Stats(); st.LeftoverFiles > 1 {
			t.Errorf("round %d: %d leftover temporary files, want at most 1", round, st.LeftoverFiles)
		}
		if n := countFiles(t, dir, tmpSuffix); n != 0 {
			t.Errorf("round %d: %d temporary files after Open, want 0", round, n)
		}
		t.Logf("round %d: killed after %d puts; found %d batches, %d leftover temporary files",
			round, last, len(seqs), s.Stats().LeftoverFiles)
		s.Close()
	}
}
