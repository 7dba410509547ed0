package portcount

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

func TestSlotRoundTrip(t *testing.T) {
	t.Parallel()
	for _, k := range []record.PortKey{
		{Protocol: record.ProtoTCP, Port: 0, HasPort: true},
		{Protocol: record.ProtoTCP, Port: 65535, HasPort: true},
		{Protocol: record.ProtoUDP, Port: 53, HasPort: true},
		{Protocol: record.ProtoICMP}, {Protocol: record.ProtoTCP}, {Protocol: 255},
	} {
		if got := Key(Slot(k)); got != k {
			t.Errorf("Key(Slot(%+v)) = %+v", k, got)
		}
	}
}

func TestCounterSparseThenDense(t *testing.T) {
	t.Parallel()
	var c Counter
	want := map[string]uint64{}
	add := func(k record.PortKey, n int) {
		for range n {
			c.Add(Slot(k))
		}
		want[k.Label()] += uint64(n)
	}
	check := func(stage string) {
		got := map[string]uint64{}
		c.Each(func(k record.PortKey, n uint64) { got[k.Label()] += n })
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("%s: Each() (-got, +want):\n%s", stage, diff)
		}
	}
	add(record.PortKey{Protocol: record.ProtoTCP, Port: 23, HasPort: true}, 10)
	add(record.PortKey{Protocol: record.ProtoICMP}, 3)
	check("sparse")
	if c.dense != nil {
		t.Fatal("dense before DenseAfter packets")
	}
	add(record.PortKey{Protocol: record.ProtoUDP, Port: 53, HasPort: true}, DenseAfter)
	check("dense")
	if c.dense == nil || c.Total() != DenseAfter+13 {
		t.Errorf("dense=%v total=%d, want dense and %d", c.dense != nil, c.Total(), DenseAfter+13)
	}
}

func TestCounterCarriesWrappedCounts(t *testing.T) {
	t.Parallel()
	var c Counter
	k := record.PortKey{Protocol: record.ProtoTCP, Port: 23, HasPort: true}
	for range DenseAfter {
		c.Add(Slot(k))
	}
	// Put the counter just below the wrap rather than counting 2^32 packets.
	c.dense[Slot(k)] = 1<<32 - 2
	c.total = 1<<32 - 2
	for range 5 {
		c.Add(Slot(k))
	}
	var got uint64
	c.Each(func(_ record.PortKey, n uint64) { got += n })
	if want := uint64(1<<32 + 3); got != want || c.Total() != want {
		t.Errorf("count after wrap = %d (total %d), want %d", got, c.Total(), want)
	}
}

// TestCounterMerge: counting packets in several counters and merging them
// gives the counts of one counter that saw them all, whether each side is
// sparse or dense, and a merged dense count that passes 2^32 carries.
func TestCounterMerge(t *testing.T) {
	t.Parallel()
	counts := func(c *Counter) map[uint32]uint64 {
		m := map[uint32]uint64{}
		c.each(func(slot uint32, n uint64) { m[slot] = n })
		return m
	}
	tests := []struct {
		name         string
		left, right  int // packets counted on each side
		rightPortMod uint32
	}{
		{name: "sparse+sparse", left: 100, right: 200, rightPortMod: 7},
		{name: "sparse+sparse=dense", left: DenseAfter - 10, right: 20, rightPortMod: 300},
		{name: "dense+sparse", left: 2 * DenseAfter, right: 50, rightPortMod: 9},
		{name: "sparse+dense", left: 50, right: 3 * DenseAfter, rightPortMod: 1000},
		{name: "empty+dense", left: 0, right: DenseAfter, rightPortMod: 5},
	}
	for _, tt := range tests {
		var all, left, right Counter
		for i := range tt.left {
			slot := uint32(i*31) % Slots
			all.Add(slot)
			left.Add(slot)
		}
		for i := range tt.right {
			slot := uint32(i) % tt.rightPortMod
			all.Add(slot)
			right.Add(slot)
		}
		left.Merge(&right)
		if diff := cmp.Diff(counts(&left), counts(&all)); diff != "" {
			t.Errorf("%s: Merge() (-got, +want):\n%s", tt.name, diff)
		}
		if left.Total() != all.Total() {
			t.Errorf("%s: Total() after Merge = %d, want %d", tt.name, left.Total(), all.Total())
		}
	}

	var a, b Counter
	for range DenseAfter {
		a.Add(23)
		b.Add(23)
	}
	a.dense[23], b.dense[23] = 1<<32-2, 5    // near the wrap rather than 2^32 packets
	b.carry = map[uint32]uint64{23: 1 << 32} // and b wrapped once before
	a.Merge(&b)
	if got, want := counts(&a)[23], uint64(2<<32+3); got != want {
		t.Errorf("merged count across the wrap = %d, want %d", got, want)
	}
}
