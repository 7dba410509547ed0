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
