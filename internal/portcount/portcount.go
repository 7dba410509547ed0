// Package portcount counts packets per destination "port" (a
// record.PortKey: TCP or UDP port, or protocol) on the packet path. A
// counter starts as a small map and turns into a flat array once busy, so
// that thousands of quiet sensors stay cheap and a busy one costs one
// array increment per packet.
package portcount

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Slot numbers: TCP ports, then UDP ports, then one slot per other IP
// protocol (port-less TCP/UDP fragments included).
const (
	udpBase   = 1 << 16
	otherBase = 2 << 16
	// Slots is the number of distinct slots.
	Slots = otherBase + 256
)

// DenseAfter is the packet count at which a Counter switches to a flat
// array of Slots uint32 counters (512 KiB). 32-bit counters halve the
// array's cache footprint — random destination ports (backscatter, long-tail
// scans) make each increment a likely cache miss — and a counter that wraps
// carries 2^32 into a small map, so counts stay exact.
const DenseAfter = 4096

// Slot packs a port key into a slot number.
func Slot(k record.PortKey) uint32 {
	if k.HasPort {
		switch k.Protocol {
		case record.ProtoTCP:
			return uint32(k.Port)
		case record.ProtoUDP:
			return udpBase + uint32(k.Port)
		}
	}
	return otherBase + uint32(k.Protocol)
}

// Key unpacks a slot number.
func Key(slot uint32) record.PortKey {
	switch {
	case slot < udpBase:
		return record.PortKey{Protocol: record.ProtoTCP, Port: uint16(slot), HasPort: true}
	case slot < otherBase:
		return record.PortKey{Protocol: record.ProtoUDP, Port: uint16(slot - udpBase), HasPort: true}
	default:
		return record.PortKey{Protocol: uint8(slot - otherBase)}
	}
}

// Counter counts packets per slot. The zero value is ready to use.
type Counter struct {
	total  uint64
	sparse map[uint32]uint64
	dense  []uint32
	carry  map[uint32]uint64 // slot → multiples of 2^32 wrapped out of dense
}

// Add counts one packet in slot (a value returned by Slot).
func (c *Counter) Add(slot uint32) {
	c.total++
	if c.dense != nil {
		c.dense[slot]++
		if c.dense[slot] == 0 {
			c.wrapped(slot)
		}
		return
	}
	if c.sparse == nil {
		c.sparse = map[uint32]uint64{}
	}
	c.sparse[slot]++
	if c.total >= DenseAfter {
		c.densify()
	}
}

// Merge adds o's counts to c, as if c had counted o's packets too (the
// analyzer's workers count apart, then merge).
func (c *Counter) Merge(o *Counter) {
	if o.total == 0 {
		return
	}
	if c.dense == nil && c.total+o.total >= DenseAfter {
		c.densify()
	}
	c.total += o.total
	if c.dense != nil && o.dense != nil {
		c.mergeDense(o)
		return
	}
	o.each(func(slot uint32, n uint64) {
		if c.dense == nil {
			if c.sparse == nil {
				c.sparse = map[uint32]uint64{}
			}
			c.sparse[slot] += n
			return
		}
		sum := uint64(c.dense[slot]) + n
		c.dense[slot] = uint32(sum)
		if wraps := sum >> 32 << 32; wraps != 0 {
			c.carryOver(slot, wraps)
		}
	})
}

// mergeDense adds o's flat array to c's, slot by slot, without a call
// per slot (the common case: busy sensors on every worker).
func (c *Counter) mergeDense(o *Counter) {
	for slot, n := range o.dense {
		sum := uint64(c.dense[slot]) + uint64(n)
		c.dense[slot] = uint32(sum)
		if sum > 1<<32-1 {
			c.carryOver(uint32(slot), 1<<32)
		}
	}
	for slot, n := range o.carry {
		c.carryOver(slot, n)
	}
}

func (c *Counter) carryOver(slot uint32, n uint64) {
	if c.carry == nil {
		c.carry = map[uint32]uint64{}
	}
	c.carry[slot] += n
}

// densify turns the sparse counts into the flat array.
func (c *Counter) densify() {
	c.dense = make([]uint32, Slots)
	for k, v := range c.sparse {
		c.dense[k] = uint32(v) // v < DenseAfter
	}
	c.sparse = nil
}

func (c *Counter) wrapped(slot uint32) { c.carryOver(slot, 1<<32) }

// Total returns the number of packets counted.
func (c *Counter) Total() uint64 { return c.total }

// Each calls fn for every port with packets, in no particular order.
func (c *Counter) Each(fn func(k record.PortKey, packets uint64)) {
	c.each(func(slot uint32, n uint64) { fn(Key(slot), n) })
}

func (c *Counter) each(fn func(slot uint32, packets uint64)) {
	for slot, n := range c.dense {
		total := uint64(n)
		if c.carry != nil {
			total += c.carry[uint32(slot)]
		}
		if total > 0 {
			fn(uint32(slot), total)
		}
	}
	for slot, n := range c.sparse {
		fn(slot, n)
	}
}

// Count is a port label ("23/TCP") and its packets: a row of every
// "top ports" table.
type Count struct {
	Port    string `json:"port"`
	Packets uint64 `json:"packets"`
}

// Sort orders counts the way every Nightjar ranking does: packets
// descending, then label ascending.
func Sort(c []Count) {
	slices.SortFunc(c, func(x, y Count) int {
		if d := cmp.Compare(y.Packets, x.Packets); d != 0 {
			return d
		}
		return cmp.Compare(x.Port, y.Port)
	})
}

// ParseLabel reads a port label back into its slot: "23/TCP", "53/UDP",
// "ICMP", "ICMPv6", "GRE", "IP-253", or "TCP" for port-less TCP fragments —
// every label PortKey.Label writes. Protocol names are case-insensitive
// ("23/tcp", "icmp").
func ParseLabel(label string) (uint32, error) {
	s := strings.TrimSpace(label)
	if num, proto, ok := strings.Cut(s, "/"); ok {
		port, err := strconv.ParseUint(num, 10, 16)
		if err != nil || num == "" || num[0] == '+' {
			return 0, fmt.Errorf("port label %q: %q is not a port number (0 to 65535)", label, num)
		}
		switch {
		case strings.EqualFold(proto, "TCP"):
			return Slot(record.PortKey{Protocol: record.ProtoTCP, Port: uint16(port), HasPort: true}), nil
		case strings.EqualFold(proto, "UDP"):
			return Slot(record.PortKey{Protocol: record.ProtoUDP, Port: uint16(port), HasPort: true}), nil
		}
		return 0, fmt.Errorf("port label %q: only TCP and UDP have ports (want 23/TCP or 53/UDP)", label)
	}
	for p := range 256 {
		if strings.EqualFold(s, record.ProtocolName(uint8(p))) {
			return Slot(record.PortKey{Protocol: uint8(p)}), nil
		}
	}
	return 0, fmt.Errorf("port label %q: want PORT/TCP, PORT/UDP or a protocol name (ICMP, ICMPv6, GRE, IP-253...)", label)
}
