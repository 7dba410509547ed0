package analyze

// addrTable maps IPv4 addresses to dense indexes with open addressing and
// linear probing. It replaces map[uint32]int32 on the packet path, where the
// per-source lookup is the largest cost after decoding
// (BenchmarkAddrTable vs BenchmarkGoMap in srctable_test.go).
type addrTable struct {
	slots []addrSlot
	shift uint // 32 - log2(len(slots))
	n     int
}

// addrSlot keeps key and value side by side: one cache miss per probe.
type addrSlot struct {
	key uint32
	val int32 // index+1; 0 marks an empty slot
}

const addrTableMinBits = 10

func newAddrTable() *addrTable {
	t := &addrTable{}
	t.init(addrTableMinBits)
	return t
}

func (t *addrTable) init(bits uint) {
	t.slots = make([]addrSlot, 1<<bits)
	t.shift = 32 - bits
	t.n = 0
}

// slot returns the Fibonacci-hashed home slot of key.
func (t *addrTable) slot(key uint32) uint32 { return (key * 0x9E3779B1) >> t.shift }

// get returns the index stored for key, or -1.
func (t *addrTable) get(key uint32) int32 {
	mask := uint32(len(t.slots) - 1)
	for i := t.slot(key); ; i = (i + 1) & mask {
		s := t.slots[i]
		if s.val == 0 {
			return -1
		}
		if s.key == key {
			return s.val - 1
		}
	}
}

// put stores idx for a key that is not in the table.
func (t *addrTable) put(key uint32, idx int32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint32(len(t.slots) - 1)
	i := t.slot(key)
	for t.slots[i].val != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = addrSlot{key, idx + 1}
	t.n++
}

func (t *addrTable) grow() {
	old := t.slots
	t.init(32 - t.shift + 1)
	for _, s := range old {
		if s.val != 0 {
			t.put(s.key, s.val-1)
		}
	}
}

func (t *addrTable) len() int { return t.n }

// each calls fn for every key and its index, in no particular order.
func (t *addrTable) each(fn func(key uint32, idx int32)) {
	for _, s := range t.slots {
		if s.val != 0 {
			fn(s.key, s.val-1)
		}
	}
}
