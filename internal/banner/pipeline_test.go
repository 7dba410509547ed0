package banner

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// shodanLines writes n Shodan banners whose port is their line number;
// the lines bad says are malformed instead.
func shodanLines(n int, bad func(line int) bool) string {
	var b strings.Builder
	for line := 1; line <= n; line++ {
		if bad(line) {
			fmt.Fprintf(&b, "{\"ip_str\": \"192.0.2.1\", \"port\": %d\n", line)
			continue
		}
		fmt.Fprintf(&b, "{\"ip_str\": \"192.0.2.1\", \"port\": %d, \"data\": \"SSH-2.0-x\", \"_shodan\": {\"module\": \"ssh\"}}\n", line)
	}
	return b.String()
}

// withWorkers makes r decode on n workers whatever the machine's cores.
func withWorkers(t *testing.T, r *Reader, n int) {
	t.Helper()
	p, ok := r.dec.(*pipeline)
	if !ok {
		t.Fatalf("%s is not read by a pipeline", r.Format())
	}
	p.workers = n
}

func TestPipelineKeepsFileOrder(t *testing.T) {
	t.Parallel()
	const lines = 3*batchValues + 17 // four batches, the last one short
	bad := func(line int) bool { return line%700 == 0 || line == batchValues || line == batchValues+1 }
	var wantPorts, wantSkips []int
	for line := 1; line <= lines; line++ {
		if bad(line) {
			wantSkips = append(wantSkips, line)
		} else {
			wantPorts = append(wantPorts, line)
		}
	}
	for _, workers := range []int{1, 2, 5} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
			t.Parallel()
			r, err := NewReader(strings.NewReader(shodanLines(lines, bad)), FormatShodan)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			withWorkers(t, r, workers)
			recs, skips, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			var ports []int
			for _, rec := range recs {
				ports = append(ports, int(rec.Port))
			}
			if diff := cmp.Diff(ports, wantPorts); diff != "" {
				t.Errorf("Next() ports (-got, +want):\n%s", diff)
			}
			if diff := cmp.Diff(skips, wantSkips); diff != "" {
				t.Errorf("Next() skipped lines (-got, +want):\n%s", diff)
			}
			if r.Lines() != lines {
				t.Errorf("Lines() = %d, want %d", r.Lines(), lines)
			}
		})
	}
}

func TestPipelineLinesFollowNext(t *testing.T) {
	t.Parallel()
	r, err := NewReader(strings.NewReader(shodanLines(2*batchValues, func(int) bool { return false })), FormatShodan)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for want := 1; want <= 2*batchValues; want++ {
		var rec Record
		if err := r.Next(&rec); err != nil {
			t.Fatal(err)
		}
		if r.Lines() != want {
			t.Fatalf("Lines() after record %d = %d, want %d (the lines handed out, not those read ahead)", want, r.Lines(), want)
		}
	}
}

func TestPrettyValueSkippedAtItsFirstLine(t *testing.T) {
	t.Parallel()
	in := "[\n  {\n    \"ip\": \"198.51.100.1\",\n    \"services\": [{\"port\": \"eighty\"}]\n  },\n" +
		"  {\n    \"ip\": \"198.51.100.2\",\n    \"services\": [{\"port\": 22, \"service_name\": \"SSH\", \"banner\": \"SSH-2.0-x\"}]\n  }\n]\n"
	r, err := NewReader(strings.NewReader(in), FormatCensys)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	recs, skips, err := readAll(t, r)
	if err != nil || len(recs) != 1 || !cmp.Equal(skips, []int{2}) {
		t.Errorf("read = %d records, skips %v, %v; want 1 record, line 2 skipped", len(recs), skips, err)
	}
}

// failingReader gives its text, then fails.
type failingReader struct {
	text io.Reader
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.text.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

func TestPipelineReadErrorComesAfterTheRecordsBeforeIt(t *testing.T) {
	t.Parallel()
	const lines = 2*batchValues + 100
	broken := errors.New("disk on fire")
	r, err := NewReader(&failingReader{strings.NewReader(shodanLines(lines, func(int) bool { return false })), broken}, FormatShodan)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	recs, skips, err := readAll(t, r)
	if !errors.Is(err, broken) || len(recs) != lines || len(skips) != 0 {
		t.Fatalf("read = %d records, skips %v, %v; want %d records, then %q", len(recs), skips, err, lines, broken)
	}
	var rec Record
	if err := r.Next(&rec); !errors.Is(err, broken) {
		t.Errorf("Next() after the read error = %v, want it again", err)
	}
}

// The goroutine tests are not parallel: they count the package's
// goroutines.

func TestCloseMidFileStopsTheGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	r, err := NewReader(strings.NewReader(shodanLines(20*batchValues, func(int) bool { return false })), FormatShodan)
	if err != nil {
		t.Fatal(err)
	}
	withWorkers(t, r, 3)
	var rec Record
	for range batchValues + 10 {
		if err := r.Next(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if n := runtime.NumGoroutine(); n < before+4 {
		t.Fatalf("%d goroutines while reading, want the splitter and 3 workers more than %d", n, before)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, before)
	if err := r.Next(&rec); !errors.Is(err, errClosed) {
		t.Errorf("Next() after Close = %v, want %v", err, errClosed)
	}
}

func TestReadErrorThenCloseStopsTheGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	r, err := NewReader(&failingReader{strings.NewReader(shodanLines(5*batchValues, func(int) bool { return false })), errors.New("gone")}, FormatShodan)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := readAll(t, r); err == nil {
		t.Fatal("read to the end without the read error")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, before)
}

// waitGoroutines waits for the goroutines to be back to want: a goroutine
// that signalled its end may not have returned yet.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, want %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}
