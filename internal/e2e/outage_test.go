package e2e

import (
	"encoding/csv"
	"errors"

	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// outage is how long TestCollectorOutage keeps the collector down.
const outage = 60 * time.Second

// TestCollectorOutage: the collector stops for a minute in the middle of a
// replay, then starts again on the same database. The sensors spool
// meanwhile and send everything again: the stored counts equal `nightjar
// analyze` on the capture — nothing lost, nothing counted twice.
func TestCollectorOutage(t *testing.T) {
	tel := newTelescope(t)
	const packets, pps = 30000, 1000
	pcap, want := tel.simulate(twoSensorFleet, packets)
	tel.startCollector()
	jp := tel.startSensor("tel-jp", tel.enroll("tel-jp", "Japan", "198.19.1.0/24", 9481, ""), 9481)
	overseas := tel.startSensor("tel-os", tel.enroll("tel-os", "overseas", "198.19.2.0/24", 9482, ""), 9482)
	replay := start(t, "tcpreplay", inNamespace(tel.link, tel.link.Scanner, testenv.Tool(t, "tcpreplay"),
		"-q", "-i", tel.link.ScannerIf, "--pps", strconv.Itoa(pps), pcap))
	time.Sleep(5 * time.Second)
	tel.collector.stop()
	down := time.Now()
	waitFor(t, 30*time.Second, "the sensors to spool while the collector is down", func() bool {
		return tel.sensorMetrics(jp)["nightjar_sensor_spool_batches"] > 0 && tel.sensorMetrics(overseas)["nightjar_sensor_spool_batches"] > 0
	})
	time.Sleep(time.Until(down.Add(outage)))
	tel.startCollector()
	if err := <-replay.done; err != nil {
		t.Fatalf("tcpreplay: %v", err)
	}
	replay.done <- nil
	tel.settle(packets, 60*time.Second)
	for _, s := range tel.sensors {
		m := tel.sensorMetrics(s)
		t.Logf("%s: %v reconnects, %v batches acknowledged as duplicates (sent again after the outage)", s.name,
			m["nightjar_sensor_reconnects_total"], m["nightjar_sensor_batches_duplicate_total"])
		if m["nightjar_sensor_reconnects_total"] == 0 {
			t.Errorf("%s never reconnected: the outage was not exercised", s.name)
		}
		s.stop()
	}
	tel.collector.stop()
	if got := tel.stored(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a %v collector outage, stored per-port counts differ from nightjar analyze:\n got %v\nwant %v", outage, got, want)
	}
}

// packetKey identifies a packet across the capture, tcpdump and the store.
type packetKey struct {
	timeNs           int64
	src, dst         string
	srcPort, dstPort uint16
	ipID, seq        uint32
}

// TestSensorKilled: a sensor is killed with SIGKILL in the middle of a
// replay and started again at once. tcpdump records every frame that
// reached the interface, with the same kernel timestamps the sensor
// records. Nothing is stored twice; the frames the sensor captured before
// the kill and lost (its open batches and the unread part of its ring) are
// counted, and must stay within the bound the batch latency sets; every
// frame after the restart is stored.
func TestSensorKilled(t *testing.T) {
	tel := newTelescope(t)
	const packets, pps = 20000, 2000
	pcap, _ := tel.simulate(twoSensorFleet, packets)
	dump := filepath.Join(tel.dir, "arrived.pcap")
	tcpdump := start(t, "tcpdump", inNamespace(tel.link, tel.link.Telescope, testenv.Tool(t, "tcpdump"),
		"-i", tel.link.TelescopeIf, "-n", "-U", "--time-stamp-precision=nano", "-w", dump, "dst", "net", "198.19.1.0/24"))
	tel.startCollector()
	config := tel.enroll("tel-jp", "Japan", "198.19.1.0/24", 9481, "")
	s := tel.startSensor("tel-jp", config, 9481)
	replay := start(t, "tcpreplay", inNamespace(tel.link, tel.link.Scanner, testenv.Tool(t, "tcpreplay"),
		"-q", "-i", tel.link.ScannerIf, "--pps", strconv.Itoa(pps), pcap))
	time.Sleep(4 * time.Second)
	killed := time.Now().UnixNano()
	s.signal(syscall.SIGKILL)
	<-s.done
	s.done <- nil
	restarted := tel.startSensor("tel-jp", config, 9481)
	if err := <-replay.done; err != nil {
		t.Fatalf("tcpreplay: %v", err)
	}
	replay.done <- nil
	waitFor(t, 60*time.Second, "the restarted sensor to empty its spool", func() bool {
		return tel.sensorMetrics(restarted)["nightjar_sensor_spool_batches"] == 0
	})
	time.Sleep(time.Second) // the last batch's latency
	restarted.stop()
	tel.collector.stop()
	tcpdump.signal(syscall.SIGINT)
	<-tcpdump.done
	tcpdump.done <- nil

	stored := tel.storedRecords()
	arrived := pcapKeys(t, dump)
	dups := 0
	for k, n := range stored {
		if n > arrived[k] {
			dups += n - arrived[k]
		}
		if arrived[k] == 0 {
			t.Errorf("stored record %+v never arrived at the interface (timestamps differ between tcpdump and the sensor?)", k)
			break
		}
	}
	if dups > 0 {
		t.Fatalf("%d records stored twice after the sensor was killed and restarted", dups)
	}
	// The first frame the restarted sensor stored opens its capture.
	resumed := int64(0)
	for k := range stored {
		if k.timeNs > killed && (resumed == 0 || k.timeNs < resumed) {
			resumed = k.timeNs
		}
	}
	var lostBeforeKill, downtime, lostAfter int
	for k := range arrived {
		if stored[k] > 0 {
			continue
		}
		switch {
		case k.timeNs <= killed:
			lostBeforeKill++
		case k.timeNs < resumed:
			downtime++
		default:
			lostAfter++
		}
	}
	t.Logf("%d frames arrived, %d stored, none twice; captured before the kill and lost: %d; arrived while no sensor ran (%.0f ms): %d; lost after the restart: %d",
		len(arrived), len(stored), lostBeforeKill, float64(resumed-killed)/1e6, downtime, lostAfter)
	// The open batch (latency 100 ms) and the ring's unread blocks (block
	// timeout 64 ms) at 2000 packets/s, with a margin for scheduling.
	if bound := pps * 400 / 1000; lostBeforeKill > bound {
		t.Errorf("lost %d frames captured before the kill, more than the %d the batch latency and ring allow", lostBeforeKill, bound)
	}
	if lostAfter > 0 {
		t.Errorf("lost %d frames after the restart", lostAfter)
	}
}

// storedRecords exports the stored records with the CLI and counts each.
func (tel *telescope) storedRecords() map[packetKey]int {
	tel.t.Helper()
	out := filepath.Join(tel.dir, "export")
	now := time.Now().UTC()
	run(tel.t, tel.nightjar, "export", "--db", tel.db, "--format", "csv", "--out", out,
		"--from", now.AddDate(0, 0, -1).Format(time.DateOnly), "--to", now.AddDate(0, 0, 1).Format(time.DateOnly))
	files, _ := filepath.Glob(filepath.Join(out, "*", "*.csv"))
	if len(files) == 0 {
		tel.t.Fatalf("export wrote no CSV file under %s", out)
	}
	keys := map[packetKey]int{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			tel.t.Fatal(err)
		}
		r := csv.NewReader(fh)
		header, err := r.Read()
		if err != nil {
			tel.t.Fatal(err)
		}
		col := map[string]int{}
		for i, h := range header {
			col[h] = i
		}
		num := func(row []string, name string) uint64 {
			v, err := strconv.ParseUint(row[col[name]], 10, 64)
			if err != nil {
				tel.t.Fatalf("%s: column %s: %v", f, name, err)
			}
			return v
		}
		for {
			row, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				tel.t.Fatal(err)
			}
			keys[packetKey{timeNs: int64(num(row, "time_ns")), src: row[col["src"]], dst: row[col["dst"]],
				srcPort: uint16(num(row, "src_port")), dstPort: uint16(num(row, "dst_port")),
				ipID: uint32(num(row, "ip_id")), seq: uint32(num(row, "seq"))}]++
		}
		fh.Close()
	}
	return keys
}

// pcapKeys reads a capture and counts each packet.
func pcapKeys(t *testing.T, path string) map[packetKey]int {
	t.Helper()
	r, err := capfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	keys := map[packetKey]int{}
	var p capfile.Packet
	for {
		err := r.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		var rec record.Record
		if decode.Decode(decode.LinkType(p.LinkType), p.Data, &rec) != decode.OK {
			continue
		}
		keys[packetKey{timeNs: p.Time, src: rec.Src.String(), dst: rec.Dst.String(), srcPort: rec.SrcPort, dstPort: rec.DstPort,
			ipID: rec.IPID, seq: rec.Seq}]++
	}
	return keys
}
