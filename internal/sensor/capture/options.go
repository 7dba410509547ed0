package capture

import (
	"fmt"
	"time"
)

// InterfaceOptions configures the capture from a network interface. Start
// from DefaultInterfaceOptions; a zero numeric field takes its default.
type InterfaceOptions struct {
	// Sockets is the number of AF_PACKET sockets, joined in one
	// PACKET_FANOUT_HASH group (a flow always goes to the same socket),
	// each read by its own goroutine. Default 1; more than one pays off
	// with more than one core.
	Sockets int
	// FanoutID names the fanout group; 0 picks one from the process ID and
	// a per-process counter. Sockets of another process that join the same
	// ID on the same interface share its frames: set it explicitly when
	// several sensors capture on one machine.
	FanoutID uint16
	// BlockSize is the size of one ring block in bytes, a multiple of the
	// page size; a frame can be at most about this long. Default 1 MiB.
	BlockSize int
	// NumBlocks is the number of blocks of each socket's ring: each socket
	// maps BlockSize × NumBlocks bytes. Default 64 (64 MiB per socket).
	NumBlocks int
	// BlockTimeout is how long the kernel fills a block before handing it
	// over partly filled: the latency of a frame at low rates. Default
	// 64 ms; at least 1 ms.
	BlockTimeout time.Duration
	// PollTimeout bounds each wait for frames, and so how long Next takes
	// to notice a cancelled context or Close. Default 100 ms.
	PollTimeout time.Duration
	// Promiscuous puts the interface in promiscuous mode while the sockets
	// are open (PACKET_MR_PROMISC membership, dropped by the kernel when
	// they close). True in DefaultInterfaceOptions: a telescope receives
	// frames for addresses the interface does not own.
	Promiscuous bool
}

// DefaultInterfaceOptions returns the default interface options.
func DefaultInterfaceOptions() InterfaceOptions {
	return InterfaceOptions{
		Sockets:      1,
		BlockSize:    1 << 20,
		NumBlocks:    64,
		BlockTimeout: 64 * time.Millisecond,
		PollTimeout:  100 * time.Millisecond,
		Promiscuous:  true,
	}
}

// withDefaults fills zero fields with their defaults and checks the rest.
func (o InterfaceOptions) withDefaults() (InterfaceOptions, error) {
	d := DefaultInterfaceOptions()
	if o.Sockets == 0 {
		o.Sockets = d.Sockets
	}
	if o.BlockSize == 0 {
		o.BlockSize = d.BlockSize
	}
	if o.NumBlocks == 0 {
		o.NumBlocks = d.NumBlocks
	}
	if o.BlockTimeout == 0 {
		o.BlockTimeout = d.BlockTimeout
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = d.PollTimeout
	}
	switch {
	case o.Sockets < 1 || o.Sockets > 64:
		return o, fmt.Errorf("%d sockets: want 1 to 64", o.Sockets)
	case o.BlockSize < 0 || o.NumBlocks < 0:
		return o, fmt.Errorf("ring of %d blocks of %d bytes", o.NumBlocks, o.BlockSize)
	case o.BlockTimeout < time.Millisecond:
		return o, fmt.Errorf("block timeout %v: at least 1ms", o.BlockTimeout)
	case o.PollTimeout < time.Millisecond:
		return o, fmt.Errorf("poll timeout %v: at least 1ms", o.PollTimeout)
	}
	return o, nil
}
