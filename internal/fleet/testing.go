package fleet

import (
	"bufio"
	"fmt"
	"os"
	"testing"
)

// WriteLargeFile writes, for tests of huge fleets, a valid sensors file
// of n sensors (n ≤ 2²⁴), each watching one address of 10.0.0.0/8, at
// path: about 110 bytes a sensor, much faster than Marshal.
func WriteLargeFile(t testing.TB, path string, n int) {
	t.Helper()
	if n > 1<<24 {
		t.Fatalf("WriteLargeFile(%d sensors): 10.0.0.0/8 has %d addresses", n, 1<<24)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "sensors:")
	for i := range n {
		fmt.Fprintf(w, "  - name: sensor-%d\n    group: group-%d\n    description: a campus network\n    addresses: [10.%d.%d.%d]\n",
			i, i%50, i>>16&255, i>>8&255, i&255)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
