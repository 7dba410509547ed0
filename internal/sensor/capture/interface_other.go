//go:build !linux

package capture

import (
	"errors"

	"github.com/nightjar-telescope/nightjar/internal/decode"
)

// Interface is a live capture from a network interface; only Linux has
// one (AF_PACKET).
type Interface struct{}

// OpenInterface fails: live capture needs Linux's AF_PACKET.
func OpenInterface(name string, opts InterfaceOptions) (*Interface, error) {
	return nil, errors.New("capture " + name + ": live capture needs Linux (AF_PACKET)")
}

// Sources returns nothing.
func (in *Interface) Sources() []Source { return nil }

// Link returns 0.
func (in *Interface) Link() decode.LinkType { return 0 }

// Stats returns zeros.
func (in *Interface) Stats() (Stats, error) { return Stats{}, nil }

// Close does nothing.
func (in *Interface) Close() error { return nil }
