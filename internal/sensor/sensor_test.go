package sensor

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// TestSpoolFullDropsOldest: a sensor whose collector is unreachable keeps
// capturing; when its spool is full it drops the oldest batches, counts
// every dropped record in its health report and says so in its log.
func TestSpoolFullDropsOldest(t *testing.T) {
	dir := t.TempDir()
	reg, err := pki.Init(filepath.Join(dir, "registry"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := reg.Enroll(fleet.Sensor{Name: "s1", Group: "test", Country: "JP", Addresses: []string{"198.124.152.0/24"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := creds.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join(testenv.Corpus(t, "scanners"), "masscan_tcp_0_1000_20190821.pcap")
	cfg, err := ParseConfig([]byte(fmt.Sprintf(`name: s1
replay: {file: %s, loop: 20}
monitor: [198.124.152.0/24]
collector: {address: "127.0.0.1:1", cert: %s, key: %s, ca: %s}
spool: {dir: %s, max_size: 20KiB, sync: never}
batch: {records: 100, latency: 10ms}
metrics: "off"
`, capture, filepath.Join(dir, pki.SensorCertFile), filepath.Join(dir, pki.SensorKeyFile), filepath.Join(dir, pki.SensorCAFile), filepath.Join(dir, "spool"))))
	if err != nil {
		t.Fatal(err)
	}
	var log testenv.SyncBuffer
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), DrainTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	h := s.health()
	st := s.spool.Stats()
	spooled := s.counts.records.Load()
	t.Logf("%d records spooled, %d dropped in %d batches, %d left in %d bytes", spooled, h.DroppedRecords, h.DroppedBatches, spooled-h.DroppedRecords, st.Bytes)
	if h.PacketsSeen != 20*1005 || spooled == 0 {
		t.Fatalf("saw %d packets, spooled %d records", h.PacketsSeen, spooled)
	}
	if h.DroppedRecords == 0 || st.Bytes > 20<<10 {
		t.Fatalf("spool of %d bytes (limit 20 KiB), %d records dropped: the limit was not enforced", st.Bytes, h.DroppedRecords)
	}
	// Every spooled record is either still in the spool or counted as dropped.
	var left uint64
	for _, e := range s.spool.Pending() {
		left += uint64(e.Count)
	}
	if left+h.DroppedRecords != spooled {
		t.Fatalf("%d records left + %d dropped != %d spooled", left, h.DroppedRecords, spooled)
	}
	if !strings.Contains(log.String(), "spool full: dropped the oldest batches") {
		t.Fatalf("nothing in the log about the dropped batches:\n%s", log.String())
	}
}
