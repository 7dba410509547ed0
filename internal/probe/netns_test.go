package probe

import (
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// TestFleetNetns probes the fake devices across a real link: they listen in
// one network namespace, on their own addresses of 198.18.0.0/24 and the
// devices' own ports (80, 443), and the prober dials from the other. It
// needs root (skipped without, failed under NIGHTJAR_REQUIRE_INTEGRATION=1).
func TestFleetNetns(t *testing.T) {
	link := testenv.NewLink(t)
	// The devices' side gets the addresses the test's devices answer on;
	// 198.18.0.0/24 is on the link, so the prober's side reaches them
	// directly (and the Link's route to 198.19.0.0/16 is never used).
	base := netip.MustParseAddr("198.18.0.10")
	var addrs []netip.Addr
	for a := base; a.Compare(netip.MustParseAddr("198.18.0.18")) <= 0; a = a.Next() {
		addrs = append(addrs, a)
	}
	addrs = append(addrs, netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.101")) // elsewhere, excluded
	for _, a := range addrs {
		if out, err := exec.Command("ip", "-n", link.Telescope, "addr", "add", a.String()+"/24", "dev", link.TelescopeIf).CombinedOutput(); err != nil {
			t.Fatalf("add %s to the devices' namespace: %v: %s", a, err, out)
		}
	}
	testFleet(t, testNet{
		base: base, hp: 80, hp2: 8080, sp: 443,
		listen: func(t *testing.T, ap netip.AddrPort) net.Listener {
			var l net.Listener
			if err := link.Do(link.Telescope, func() (err error) { l, err = net.Listen("tcp", ap.String()); return err }); err != nil {
				t.Fatalf("listen on %s in %s: %v", ap, link.Telescope, err)
			}
			return l
		},
		dial:    link.DialContext(link.Scanner),
		timeout: time.Second, rate: 100,
	})
}
