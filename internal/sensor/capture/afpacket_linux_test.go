package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// openIn opens the interface ifname of link's namespace ns, so that the
// sockets belong to ns.
func openIn(t *testing.T, l *testenv.Link, ns, ifname string, opts InterfaceOptions) *Interface {
	t.Helper()
	var in *Interface
	err := l.Do(ns, func() (err error) {
		in, err = OpenInterface(ifname, opts)
		return err
	})
	if err != nil {
		t.Fatalf("OpenInterface(%q) in %s error = %v", ifname, ns, err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// sendFrames writes n test frames (even ones to the telescope's MAC, odd
// ones to another MAC: only promiscuous mode takes those on a real NIC)
// and replays them from the scanner side with tcpreplay at top speed. It
// returns the frames sent and tcpreplay's report.
func sendFrames(t *testing.T, l *testenv.Link, n int) ([][]byte, string) {
	t.Helper()
	testenv.Tool(t, "tcpreplay")
	mac, err := net.ParseMAC(l.TelescopeMAC)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "send.pcap")
	w, err := capfile.Create(path, uint32(decode.LinkEthernet))
	if err != nil {
		t.Fatal(err)
	}
	frames := make([][]byte, n)
	for i := range frames {
		var dst []byte
		if i%2 == 0 {
			dst = mac
		}
		frames[i] = synFrame(i, dst)
		if err := w.WritePacket(1_700_000_000e9+int64(i)*1000, frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := l.Command(l.Scanner, "tcpreplay", "--topspeed", "--preload-pcap", "-i", l.ScannerIf, path).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpreplay: %v: %s", err, out)
	}
	if want := fmt.Sprintf("Actual: %d packets", n); !bytes.Contains(out, []byte(want)) {
		t.Fatalf("tcpreplay did not send %d packets:\n%s", n, out)
	}
	return frames, string(out)
}

// promiscuity returns the interface's promiscuity count (ip -d link).
func promiscuity(t *testing.T, l *testenv.Link) string {
	t.Helper()
	out, err := l.Command(l.Telescope, "ip", "-d", "link", "show", l.TelescopeIf).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	for i := range f[:len(f)-1] {
		if f[i] == "promiscuity" {
			return f[i+1]
		}
	}
	t.Fatalf("no promiscuity in %q", out)
	return ""
}

// TestInterface captures frames replayed over a veth pair with two fanout
// sockets: every frame arrives once, both sockets get some, and the kernel
// counts them without drops.
func TestInterface(t *testing.T) {
	t.Parallel()
	l := testenv.NewLink(t)
	const n = 2000
	start := time.Now().UnixNano()
	opts := DefaultInterfaceOptions()
	opts.Sockets = 2
	opts.PollTimeout = 20 * time.Millisecond
	in := openIn(t, l, l.Telescope, l.TelescopeIf, opts)
	if got := in.Link(); got != decode.LinkEthernet {
		t.Errorf("Link() = %v, want Ethernet", got)
	}
	if got := promiscuity(t, l); got != "2" {
		t.Errorf("promiscuity while open = %s, want 2 (one per socket)", got)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var (
		mu       sync.Mutex
		got      = map[string]int{} // frame → times received
		ours     int
		perSock  = make([]int, 2)
		extra    int
		wg       sync.WaitGroup
		expected = map[string]bool{}
		errs     = make([]error, 2)
	)
	for i := range n {
		expected[string(synFrame(i, nil)[6:])] = true // all but the destination MAC
	}
	for i, src := range in.Sources() {
		wg.Go(func() {
			for {
				f, err := src.Next(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				if f.Time < start || f.Time > time.Now().UnixNano() || f.Link != decode.LinkEthernet || f.OrigLen != uint32(len(f.Data)) {
					t.Errorf("socket %d: frame at %d, link %v, %d of %d bytes: want a time since %d and the whole Ethernet frame",
						i, f.Time, f.Link, len(f.Data), f.OrigLen, start)
				}
				mu.Lock()
				if len(f.Data) > 6 && expected[string(f.Data[6:])] {
					got[string(f.Data)]++
					ours++
					perSock[i]++
					if ours == n {
						cancel()
					}
				} else {
					extra++
				}
				mu.Unlock()
			}
		})
	}
	frames, _ := sendFrames(t, l, n)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("socket %d: Next() error = %v, want context.Canceled once all frames arrived", i, err)
		}
	}
	missing, dup := 0, 0
	for _, f := range frames {
		switch got[string(f)] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing > 0 || dup > 0 {
		t.Errorf("of %d frames sent, %d missing, %d received more than once", n, missing, dup)
	}
	if perSock[0] == 0 || perSock[1] == 0 {
		t.Errorf("frames per socket = %v, want both sockets used by the fanout", perSock)
	}
	st, err := in.Stats()
	if err != nil {
		t.Fatalf("Stats() error = %v", err)
	}
	if st.Packets < n || st.Drops != 0 {
		t.Errorf("Stats() = %+v, want at least %d packets and no drops", st, n)
	}
	if tx := l.Counter(t, l.Telescope, l.TelescopeIf, "tx_packets"); tx != 0 {
		t.Errorf("the telescope interface sent %d packets, want 0", tx)
	}
	t.Logf("%d frames: %v per socket, %d others; kernel %+v", n, perSock, extra, st)

	if err := in.Close(); err != nil {
		t.Errorf("Close() error = %v", err)
	}
	// The kernel drops the sockets' promiscuous membership when it
	// releases them, which may follow close(2) by a moment on a busy
	// machine.
	promisc := promiscuity(t, l)
	for deadline := time.Now().Add(2 * time.Second); promisc != "0" && time.Now().Before(deadline); promisc = promiscuity(t, l) {
		time.Sleep(20 * time.Millisecond)
	}
	if promisc != "0" {
		t.Errorf("promiscuity 2 s after Close = %s, want 0", promisc)
	}
	if after, err := in.Stats(); err != nil || after != st {
		t.Errorf("Stats() after Close = %+v, %v; want %+v", after, err, st)
	}
}

// TestInterfaceDrops fills a tiny ring that nobody reads: the kernel drops
// frames, Stats counts them, the counts accumulate across reads (the
// kernel resets its own on each), and Close stops a blocked Next.
func TestInterfaceDrops(t *testing.T) {
	t.Parallel()
	l := testenv.NewLink(t)
	const n = 2000
	opts := DefaultInterfaceOptions()
	opts.BlockSize, opts.NumBlocks = os.Getpagesize(), 2
	opts.PollTimeout = 20 * time.Millisecond
	in := openIn(t, l, l.Telescope, l.TelescopeIf, opts)
	sendFrames(t, l, n)
	first, err := in.Stats()
	if err != nil {
		t.Fatalf("Stats() error = %v", err)
	}
	if first.Packets < n || first.Drops == 0 || first.Drops >= first.Packets || first.QueueFreezes == 0 {
		t.Fatalf("Stats() = %+v, want %d packets or more, some but not all dropped, a freeze", first, n)
	}

	src := in.Sources()[0]
	received := 0
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond) // the block timeout hands over partial blocks
		_, err := src.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("Next() error = %v", err)
		}
		if received++; received > n {
			t.Fatalf("more frames than were sent")
		}
	}
	second, err := in.Stats()
	if err != nil {
		t.Fatalf("Stats() error = %v", err)
	}
	if second.Packets < first.Packets || second.Drops < first.Drops {
		t.Errorf("Stats() went from %+v to %+v: want cumulative counts", first, second)
	}
	if uint64(received) != second.Packets-second.Drops {
		t.Errorf("received %d frames; the kernel counted %d packets and %d drops", received, second.Packets, second.Drops)
	}
	t.Logf("ring of %d × %d bytes: %d frames received, kernel %+v", opts.NumBlocks, opts.BlockSize, received, second)

	time.AfterFunc(100*time.Millisecond, func() { in.Close() })
	begin := time.Now()
	if _, err := src.Next(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next() during Close error = %v, want ErrClosed", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("Next() returned %v after Close", took)
	}
}

func TestOpenInterfaceErrors(t *testing.T) {
	t.Parallel()
	if _, err := OpenInterface("nj-no-such-if", DefaultInterfaceOptions()); err == nil {
		t.Errorf("OpenInterface() of a missing interface error = nil")
	}
	bad := DefaultInterfaceOptions()
	bad.Sockets = -1
	if _, err := OpenInterface("lo", bad); err == nil {
		t.Errorf("OpenInterface() with -1 sockets error = nil")
	}
}

// TestInterfaceRate measures the capture of a tcpreplay --topspeed replay
// over veth: NIGHTJAR_CAPTURE_RATE=<frames> (e.g. 1000000) runs it, with
// NIGHTJAR_CAPTURE_SOCKETS sockets (default 1). It logs tcpreplay's rate
// and the kernel's counts, and fails if a frame is missing without a
// counted drop.
func TestInterfaceRate(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NIGHTJAR_CAPTURE_RATE"))
	if n <= 0 {
		t.Skip("a measurement: set NIGHTJAR_CAPTURE_RATE=<frames> to run it")
	}
	sockets, _ := strconv.Atoi(os.Getenv("NIGHTJAR_CAPTURE_SOCKETS"))
	l := testenv.NewLink(t)
	opts := DefaultInterfaceOptions()
	opts.Sockets = max(sockets, 1)
	opts.PollTimeout = 20 * time.Millisecond
	in := openIn(t, l, l.Telescope, l.TelescopeIf, opts)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	counts := make([]int, opts.Sockets)
	var wg sync.WaitGroup
	for i, src := range in.Sources() {
		wg.Go(func() {
			for range 100 * n { // bounded; ends with cancel
				if _, err := src.Next(ctx); err != nil {
					return
				}
				counts[i]++
			}
		})
	}
	_, report := sendFrames(t, l, n)
	time.Sleep(500 * time.Millisecond) // block timeout: the last partial blocks
	cancel()
	wg.Wait()
	st, err := in.Stats()
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, c := range counts {
		got += c
	}
	rated := ""
	for _, line := range strings.Split(report, "\n") {
		if strings.Contains(line, "Rated:") {
			rated = strings.TrimSpace(line)
		}
	}
	t.Logf("%d sockets: sent %d, received %d %v, kernel %+v; tcpreplay %s", opts.Sockets, n, got, counts, st, rated)
	if uint64(got)+st.Drops < uint64(n) {
		t.Errorf("received %d + dropped %d < sent %d", got, st.Drops, n)
	}
}

// TestInterfaceDown takes the interface down under a reader and brings it
// back: Next neither fails nor spins (one link error per socket is
// counted), and the frames sent afterwards arrive.
func TestInterfaceDown(t *testing.T) {
	t.Parallel()
	l := testenv.NewLink(t)
	opts := DefaultInterfaceOptions()
	opts.PollTimeout = 20 * time.Millisecond
	in := openIn(t, l, l.Telescope, l.TelescopeIf, opts)
	if in.sockets[0].fd < 0 {
		t.Errorf("no file descriptor found in gopacket's TPacket (did its fields change?): socket errors cannot be cleared")
	}
	src := in.Sources()[0]
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const n = 100
	var received int
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for received < n {
			f, err := src.Next(ctx)
			if err != nil {
				readErr = err
				return
			}
			if len(f.Data) == 54 && bytes.Equal(f.Data[26:30], []byte{198, 18, 0, 2}) {
				received++
			}
		}
	})
	ip := func(state string) {
		if out, err := l.Command(l.Telescope, "ip", "link", "set", l.TelescopeIf, state).CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s: %v: %s", state, err, out)
		}
	}
	time.Sleep(100 * time.Millisecond)
	ip("down")
	time.Sleep(300 * time.Millisecond) // 15 poll timeouts
	ip("up")
	time.Sleep(100 * time.Millisecond)
	sendFrames(t, l, n)
	wg.Wait()
	if readErr != nil || received != n {
		t.Errorf("received %d of %d frames sent after the interface came back; Next() error = %v", received, n, readErr)
	}
	st, err := in.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.LinkErrors < 1 || st.LinkErrors > 3 {
		t.Errorf("Stats().LinkErrors = %d, want 1 (a few at most): the error is read once", st.LinkErrors)
	}
}

// TestFanoutFormsWithoutDuplicates opens four fanout sockets while frames
// are arriving: a socket receives every frame from its bind until it joins
// the group, so without care a frame of that window lands in two rings.
// No frame may be read twice.
func TestFanoutFormsWithoutDuplicates(t *testing.T) {
	l := testenv.NewLink(t)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		sendFrames(t, l, 300_000)
	}()
	time.Sleep(300 * time.Millisecond) // the replay is under way
	opts := DefaultInterfaceOptions()
	opts.Sockets = 4
	opts.PollTimeout = 20 * time.Millisecond
	in := openIn(t, l, l.Telescope, l.TelescopeIf, opts)
	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, src := range in.Sources() {
		wg.Go(func() {
			for range 10_000_000 { // bounded; ends with cancel
				f, err := src.Next(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				seen[string(f.Data)]++
				mu.Unlock()
			}
		})
	}
	<-sent
	time.Sleep(300 * time.Millisecond) // block timeout: the last partial blocks
	cancel()
	wg.Wait()
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("%d distinct frames read by 4 sockets, %d read twice", len(seen), dups)
	if len(seen) == 0 {
		t.Fatal("no frame read: the sockets opened after the replay")
	}
	if dups > 0 {
		t.Fatalf("%d frames read by two sockets", dups)
	}
}
