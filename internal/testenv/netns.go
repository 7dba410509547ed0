package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Link is a test network: two network namespaces joined by a veth pair,
// with no route out. The scanner side has 198.18.0.2/24 and routes
// 198.19.0.0/16 (the telescope's prefixes) to a gateway, 198.18.0.1, whose
// MAC address is the telescope interface's, set as a static neighbour: the
// telescope side has no address at all, and no IPv6, so its kernel answers
// nothing and sends nothing — a passive sensor's interface. Packets sent
// from the scanner namespace to 198.19.0.0/16 arrive there and go no
// further. Tests send packets only inside these namespaces.
type Link struct {
	Scanner, Telescope     string // namespace names
	ScannerIf, TelescopeIf string // interface names, one in each namespace
	TelescopeMAC           string
	ScannerAddr, Gateway   string
}

// TelescopeNet is the prefix the scanner side routes to the telescope.
const TelescopeNet = "198.19.0.0/16"

// NewLink creates a Link, removed when the test ends. It needs root and
// iproute2; without them the test is skipped (or fails under
// NIGHTJAR_REQUIRE_INTEGRATION=1).
func NewLink(t testing.TB) *Link {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "network namespaces need root")
	}
	Tool(t, "ip")
	id := make([]byte, 3)
	rand.Read(id) //nolint:errcheck // never fails
	tag := hex.EncodeToString(id)
	l := &Link{
		Scanner: "nj-s-" + tag, Telescope: "nj-t-" + tag,
		ScannerIf: "njs" + tag, TelescopeIf: "njt" + tag,
		ScannerAddr: "198.18.0.2", Gateway: "198.18.0.1",
	}
	t.Cleanup(func() {
		// Deleting a namespace deletes its end of the veth pair, and so both.
		exec.Command("ip", "netns", "del", l.Scanner).Run()   //nolint:errcheck
		exec.Command("ip", "netns", "del", l.Telescope).Run() //nolint:errcheck
	})
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", l.Scanner)
	ip("netns", "add", l.Telescope)
	ip("link", "add", l.ScannerIf, "netns", l.Scanner, "type", "veth", "peer", "name", l.TelescopeIf, "netns", l.Telescope)
	// The telescope side: no IPv6 (no router solicitation, no DAD), no
	// address; loopback up for the collector that tests run there.
	l.Sysctl(t, l.Telescope, "net.ipv6.conf.all.disable_ipv6=1")
	l.Sysctl(t, l.Telescope, "net.ipv6.conf.default.disable_ipv6=1")
	l.Sysctl(t, l.Scanner, "net.ipv6.conf.all.disable_ipv6=1")
	ip("-n", l.Telescope, "link", "set", "lo", "up")
	ip("-n", l.Telescope, "link", "set", l.TelescopeIf, "up")
	ip("-n", l.Scanner, "link", "set", "lo", "up")
	ip("-n", l.Scanner, "addr", "add", l.ScannerAddr+"/24", "dev", l.ScannerIf)
	ip("-n", l.Scanner, "link", "set", l.ScannerIf, "up")
	out, err := exec.Command("ip", "-n", l.Telescope, "-br", "link", "show", l.TelescopeIf).Output()
	if err != nil {
		t.Fatalf("read the telescope interface: %v", err)
	}
	if f := strings.Fields(string(out)); len(f) >= 3 {
		l.TelescopeMAC = f[2]
	} else {
		t.Fatalf("unexpected ip -br link output %q", out)
	}
	ip("-n", l.Scanner, "neigh", "add", l.Gateway, "lladdr", l.TelescopeMAC, "dev", l.ScannerIf, "nud", "permanent")
	ip("-n", l.Scanner, "route", "add", TelescopeNet, "via", l.Gateway, "dev", l.ScannerIf)
	return l
}

// Sysctl sets a sysctl inside a namespace.
func (l *Link) Sysctl(t testing.TB, ns, setting string) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", setting).CombinedOutput(); err != nil {
		t.Fatalf("sysctl %s in %s: %v: %s", setting, ns, err, out)
	}
}

// Command returns a command that runs inside namespace ns.
func (l *Link) Command(ns, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Counter returns a statistic of an interface in namespace ns, e.g.
// "tx_packets": on the telescope side it must stay 0 (a sensor is passive).
func (l *Link) Counter(t testing.TB, ns, ifname, name string) uint64 {
	t.Helper()
	out, err := l.Command(ns, "cat", "/sys/class/net/"+ifname+"/statistics/"+name).Output()
	if err != nil {
		t.Fatalf("read %s of %s: %v", name, ifname, err)
	}
	var n uint64
	if _, err := fmt.Sscan(string(out), &n); err != nil {
		t.Fatalf("%s of %s: %q", name, ifname, out)
	}
	return n
}

// Do runs fn on an OS thread that entered namespace ns, and waits for it.
// The sockets fn makes belong to ns, whichever thread uses them later. The
// thread is never returned to the pool: it exits with its goroutine.
func (l *Link) Do(ns string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// DialContext dials from inside namespace ns. Tests use it to reach
// servers listening on a namespace's loopback.
func (l *Link) DialContext(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
		err = l.Do(ns, func() error {
			var d net.Dialer
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
}

// HTTPClient returns an HTTP client whose connections are made inside
// namespace ns.
func (l *Link) HTTPClient(ns string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: l.DialContext(ns)}}
}
