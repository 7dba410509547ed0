package testenv

import (
	"testing"
)

// TestLink: what the scanner side sends to the telescope's prefix arrives
// on the telescope interface, which sends nothing back.
func TestLink(t *testing.T) {
	ping := Tool(t, "ping")
	l := NewLink(t)
	rx := func() uint64 { return l.Counter(t, l.Telescope, l.TelescopeIf, "rx_packets") }
	before := rx()
	// ping fails (nobody answers); what matters is that its packets arrive.
	l.Command(l.Scanner, ping, "-c", "3", "-i", "0.3", "-W", "1", "198.19.0.9").Run() //nolint:errcheck
	if got := rx() - before; got < 3 {
		t.Fatalf("telescope interface received %d packets, want at least 3", got)
	}
	if tx := l.Counter(t, l.Telescope, l.TelescopeIf, "tx_packets"); tx != 0 {
		t.Fatalf("telescope interface sent %d packets, want 0", tx)
	}
}
