package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// telescope is a test deployment: a Link, a registry, a collector in the
// telescope namespace (on its loopback) and sensors capturing on the
// telescope interface.
type telescope struct {
	t                *testing.T
	link             *testenv.Link
	nightjar, sensor string
	dir, registry    string
	db               string
	collector        *proc
	sensors          map[string]*sensorProc
}

type sensorProc struct {
	*proc
	name, config, metricsURL string
}

const collectorAddr = "127.0.0.1:7443"

func newTelescope(t *testing.T) *telescope {
	t.Helper()
	link := testenv.NewLink(t)
	nj, sensor := binaries(t)
	dir := t.TempDir()
	tel := &telescope{t: t, link: link, nightjar: nj, sensor: sensor, dir: dir,
		registry: filepath.Join(dir, "registry"), db: filepath.Join(dir, "telescope.duckdb"), sensors: map[string]*sensorProc{}}
	run(t, nj, "ca", "init", "--dir", tel.registry, "--host", "127.0.0.1")
	return tel
}

func (tel *telescope) startCollector(extra ...string) {
	tel.t.Helper()
	args := append([]string{"collector", "--db", tel.db, "--ca", tel.registry, "--listen", collectorAddr,
		"--metrics", "127.0.0.1:9471", "--commit-interval", "50ms"}, extra...)
	tel.collector = start(tel.t, "collector", inNamespace(tel.link, tel.link.Telescope, tel.nightjar, args...))
	waitFor(tel.t, 60*time.Second, "the collector to listen", func() bool {
		return strings.Contains(tel.collector.output(), "collector listening on")
	})
}

// enroll enrolls a sensor and writes its configuration: it captures on the
// telescope interface and watches prefix.
func (tel *telescope) enroll(name, group, prefix string, metricsPort int, extra string) string {
	tel.t.Helper()
	creds := filepath.Join(tel.dir, "sensor-"+name)
	country := map[string]string{"Japan": "JP"}[group]
	if country == "" {
		country = "US"
	}
	run(tel.t, tel.nightjar, "ca", "enroll", "--dir", tel.registry, "--name", name, "--group", group, "--country", country,
		"--prefix", prefix, "--out", creds)
	config := filepath.Join(creds, "sensor.yaml")
	yaml := fmt.Sprintf(`name: %s
interface: %s
sockets: 2
monitor: [%s]
collector:
  address: %s
  cert: sensor.crt
  key: sensor.key
  ca: ca.crt
spool:
  dir: spool
batch:
  records: 1024
  latency: 100ms
metrics: 127.0.0.1:%d
heartbeat: 500ms
%s`, name, tel.link.TelescopeIf, prefix, collectorAddr, metricsPort, extra)
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		tel.t.Fatal(err)
	}
	return config
}

func (tel *telescope) startSensor(name, config string, metricsPort int) *sensorProc {
	tel.t.Helper()
	p := start(tel.t, "sensor-"+name, inNamespace(tel.link, tel.link.Telescope, tel.sensor, "--config", config))
	s := &sensorProc{proc: p, name: name, config: config, metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)}
	tel.sensors[name] = s
	client := tel.link.HTTPClient(tel.link.Telescope)
	waitFor(tel.t, 30*time.Second, "sensor "+name+" to connect", func() bool {
		return metrics(tel.t, client, s.metricsURL)["nightjar_sensor_connected"] == 1
	})
	return s
}

// sensorMetrics scrapes a sensor's metrics.
func (tel *telescope) sensorMetrics(s *sensorProc) map[string]float64 {
	return metrics(tel.t, tel.link.HTTPClient(tel.link.Telescope), s.metricsURL)
}

// settle waits until every sensor has seen want frames and has nothing
// left in its spool.
func (tel *telescope) settle(want float64, timeout time.Duration) {
	tel.t.Helper()
	for _, s := range tel.sensors {
		waitFor(tel.t, timeout, "sensor "+s.name+" to see every frame and empty its spool", func() bool {
			m := tel.sensorMetrics(s)
			return m[`nightjar_sensor_packets_total{outcome="seen"}`] >= want && m["nightjar_sensor_spool_batches"] == 0
		})
	}
}

// replay sends a capture from the scanner namespace as fast as tcpreplay
// can.
func (tel *telescope) replay(pcap string, extra ...string) string {
	tel.t.Helper()
	tcpreplay := testenv.Tool(tel.t, "tcpreplay")
	args := append([]string{"netns", "exec", tel.link.Scanner, tcpreplay, "-i", tel.link.ScannerIf}, extra...)
	return run(tel.t, "ip", append(args, pcap)...)
}

// stored returns the per-sensor, per-port counts in the database, read
// with the CLI after the collector stopped.
func (tel *telescope) stored() map[string]map[string]uint64 {
	tel.t.Helper()
	now := time.Now().UTC()
	out := run(tel.t, tel.nightjar, "query", "top-ports", "--db", tel.db, "--top", "100000", "--format", "json",
		"--from", now.AddDate(0, 0, -1).Format(time.DateOnly), "--to", now.AddDate(0, 0, 1).Format(time.DateOnly))
	counts := portCounts(tel.t, out)
	for name, ports := range counts {
		if len(ports) == 0 {
			delete(counts, name)
		}
	}
	return counts
}

// simulate writes a simulated capture for the fleet and returns its path
// and `nightjar analyze`'s per-sensor, per-port counts of it.
func (tel *telescope) simulate(fleetYAML string, packets int) (string, map[string]map[string]uint64) {
	tel.t.Helper()
	fleet := filepath.Join(tel.dir, "fleet.yaml")
	if err := os.WriteFile(fleet, []byte(fleetYAML), 0o600); err != nil {
		tel.t.Fatal(err)
	}
	pcap := filepath.Join(tel.dir, "sim.pcap")
	run(tel.t, tel.nightjar, "simulate", "-q", "--sensors", fleet, "--packets", fmt.Sprint(packets), "--out", pcap)
	counts := portCounts(tel.t, run(tel.t, tel.nightjar, "analyze", "-q", "--sensors", fleet, "--top", "100000", "--format", "json", pcap))
	return pcap, counts
}

const twoSensorFleet = `sensors:
  - name: tel-jp
    group: Japan
    addresses: [198.19.1.0/24]
  - name: tel-os
    group: overseas
    addresses: [198.19.2.0/24]
`

// TestReplayThroughTheKernel: a simulated capture replayed over veth with
// tcpreplay, captured by two sensors (AF_PACKET, fanout), sent over mutual
// TLS, stored by the collector: the stored per-port counts of each sensor
// equal `nightjar analyze` on the same capture, and the telescope
// interface sent nothing.
func TestReplayThroughTheKernel(t *testing.T) {
	tel := newTelescope(t)
	pcap, want := tel.simulate(twoSensorFleet, 20000)
	tel.startCollector()
	jp := tel.enroll("tel-jp", "Japan", "198.19.1.0/24", 9481, "")
	overseas := tel.enroll("tel-os", "overseas", "198.19.2.0/24", 9482, "")
	tel.startSensor("tel-jp", jp, 9481)
	tel.startSensor("tel-os", overseas, 9482)
	tel.replay(pcap, "--topspeed")
	tel.settle(20000, 60*time.Second)
	var wantTotal uint64
	for _, ports := range want {
		for _, n := range ports {
			wantTotal += n
		}
	}
	// The sensors' last batches may still be open (batch.latency) when
	// their spools are empty: wait for the collector to store them.
	storedRecords := func() float64 {
		return metrics(t, tel.link.HTTPClient(tel.link.Telescope), "http://127.0.0.1:9471/metrics")["nightjar_collector_records_stored_total"]
	}
	waitFor(t, 30*time.Second, "the collector to store every record", func() bool { return storedRecords() >= float64(wantTotal) })
	if got := storedRecords(); got != float64(wantTotal) {
		t.Errorf("collector metrics: %v records stored, want %d", got, wantTotal)
	}
	// The collector's own dashboard serves the live database.
	var live struct {
		Sensors []struct {
			Name   string          `json:"name"`
			Health json.RawMessage `json:"health"`
		} `json:"sensors"`
	}
	resp, err := tel.link.HTTPClient(tel.link.Telescope).Get("http://127.0.0.1:8080/api/v1/sensors")
	if err != nil {
		t.Fatalf("collector dashboard: %v", err)
	}
	err = json.NewDecoder(resp.Body).Decode(&live)
	resp.Body.Close()
	if err != nil || len(live.Sensors) != 2 || string(live.Sensors[0].Health) == "null" {
		t.Errorf("collector dashboard /api/v1/sensors: %+v, %v; want both sensors with health", live, err)
	}
	for _, s := range tel.sensors {
		if d := tel.sensorMetrics(s)["nightjar_sensor_kernel_drops_total"]; d != 0 {
			t.Errorf("sensor %s: %v kernel drops", s.name, d)
		}
		s.stop()
	}
	tel.collector.stop()
	got := tel.stored()
	if !reflect.DeepEqual(got, want) || len(want) != 2 {
		t.Fatalf("stored per-port counts differ from nightjar analyze:\n got %v\nwant %v", got, want)
	}
	for name, ports := range got {
		var n uint64
		for _, c := range ports {
			n += c
		}
		t.Logf("%s: %d packets on %d ports, equal to nightjar analyze", name, n, len(ports))
	}
	// The health the sensors reported, as the collector stored it.
	var health struct {
		Sensors []struct {
			Name   string `json:"name"`
			Health *struct {
				Version      string `json:"version"`
				PacketsSeen  uint64 `json:"packets_seen"`
				KernelDrops  uint64 `json:"kernel_drops"`
				SpoolBatches uint64 `json:"spool_batches"`
			} `json:"health"`
		} `json:"sensors"`
	}
	if err := json.Unmarshal([]byte(run(t, tel.nightjar, "query", "sensors", "--db", tel.db, "--format", "json")), &health); err != nil {
		t.Fatal(err)
	}
	if len(health.Sensors) != 2 {
		t.Fatalf("query sensors: %+v", health)
	}
	for _, s := range health.Sensors {
		if h := s.Health; h == nil || h.Version == "" || h.PacketsSeen < 20000 || h.KernelDrops != 0 || h.SpoolBatches != 0 {
			t.Errorf("sensor %s: stored health %+v, want every frame seen, no drop, an empty spool", s.Name, h)
		}
	}
	if tx := tel.link.Counter(t, tel.link.Telescope, tel.link.TelescopeIf, "tx_packets"); tx != 0 {
		t.Fatalf("the telescope interface sent %d packets; a sensor is passive", tx)
	}
}

// storedSources returns the tags of every stored source, read with the CLI.
func (tel *telescope) storedSources() map[string][]string {
	tel.t.Helper()
	now := time.Now().UTC()
	out := run(tel.t, tel.nightjar, "query", "top-sources", "--db", tel.db, "--top", "1000", "--format", "json",
		"--from", now.AddDate(0, 0, -1).Format(time.DateOnly), "--to", now.AddDate(0, 0, 1).Format(time.DateOnly))
	var rep struct {
		Sources []struct {
			IP      string   `json:"ip"`
			Packets uint64   `json:"packets"`
			Tags    []string `json:"tags"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		tel.t.Fatalf("parse top-sources: %v\n%s", err, out)
	}
	tags := map[string][]string{}
	for _, s := range rep.Sources {
		tags[s.IP] = s.Tags
	}
	return tags
}

// ringMappings returns the sizes of the AF_PACKET rings a process has
// mapped (the "socket:[inode]" lines of /proc/PID/maps).
func ringMappings(t *testing.T, pid int) []uint64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []uint64
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "socket:") {
			continue
		}
		var lo, hi uint64
		if _, err := fmt.Sscanf(fields[0], "%x-%x", &lo, &hi); err != nil {
			t.Fatalf("maps line %q: %v", line, err)
		}
		sizes = append(sizes, hi-lo)
	}
	return sizes
}

// TestRealScanners: zmap, masscan, nmap -sS and hping3 (random-source
// SYN-ACKs, i.e. backscatter) scan the telescope from the scanner
// namespace, each from its own address; the stored sources carry the
// tag of their tool. The sensor runs with a small ring of its own size
// (ring: in sensor.yaml), which its two capture sockets map.
func TestRealScanners(t *testing.T) {
	tel := newTelescope(t)
	l := tel.link
	for _, a := range []string{"198.18.0.10", "198.18.0.11", "198.18.0.12"} {
		run(t, "ip", "-n", l.Scanner, "addr", "add", a+"/24", "dev", l.ScannerIf)
	}
	tel.startCollector()
	cfg := tel.enroll("tel-scan", "test", "198.19.3.0/24", 9483, "ring:\n  block_size: 256KiB\n  blocks: 12\n")
	s := tel.startSensor("tel-scan", cfg, 9483)
	if got := ringMappings(t, s.proc.cmd.Process.Pid); fmt.Sprint(got) != "[3145728 3145728]" {
		t.Errorf("the sensor maps rings of %v bytes, want two sockets of 12 × 256 KiB", got)
	}
	blocklist := filepath.Join(tel.dir, "empty-blocklist")
	if err := os.WriteFile(blocklist, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	scan := func(tool string, args ...string) {
		t.Helper()
		status := 0
		if tool == "hping3" {
			status = 1 // no answer
		}
		runExpect(t, status, "ip", append([]string{"netns", "exec", l.Scanner, testenv.Tool(t, tool)}, args...)...)
	}
	scan("zmap", "-q", "-p", "23", "-i", l.ScannerIf, "-S", "198.18.0.10", "-G", l.TelescopeMAC, "-b", blocklist,
		"--cooldown-time=1", "-r", "1000", "-o", "/dev/null", "198.19.3.0/28")
	// masscan waits for its receive thread, which wakes only when a frame
	// crosses the interface; the telescope side is silent, so keep a slow
	// ping going meanwhile, to an address the sensor does not watch.
	waker := start(t, "ping", inNamespace(l, l.Scanner, "ping", "-q", "-c", "120", "-i", "0.5", "198.19.9.9"))
	scan("masscan", "198.19.3.16/28", "-p2323", "--rate", "1000", "-e", l.ScannerIf, "--router-mac", l.TelescopeMAC,
		"--source-ip", "198.18.0.11", "--wait", "1")
	waker.kill()
	scan("nmap", "-sS", "-Pn", "-n", "-p", "8080", "-e", l.ScannerIf, "-S", "198.18.0.12", "--max-retries", "0", "198.19.3.32/28")
	scan("hping3", "-q", "-S", "-A", "--rand-source", "-p", "5555", "-c", "20", "-i", "u2000", "198.19.3.48")
	// 16 probes each from zmap, masscan and nmap, 20 from hping3.
	tel.settle(16*3+20, 60*time.Second)
	s.stop()
	tel.collector.stop()
	sources := tel.storedSources()
	for ip, want := range map[string]string{"198.18.0.10": "zmap", "198.18.0.11": "masscan", "198.18.0.12": "nmap"} {
		if got := strings.Join(sources[ip], ","); got != want {
			t.Errorf("source %s: tags %q, want %q", ip, got, want)
		}
		delete(sources, ip)
	}
	if len(sources) < 15 {
		t.Errorf("%d random hping3 sources stored, want about 20", len(sources))
	}
	for ip, tags := range sources {
		// A random source may also fall in a reserved range (spoofed).
		if got := strings.Join(tags, ","); got != "backscatter" && got != "backscatter,spoofed" {
			t.Errorf("hping3 SYN-ACK source %s: tags %v, want backscatter", ip, tags)
		}
	}
}
