package sensor

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
)

// Config is a sensor's configuration file (YAML; unknown keys are errors).
// ExampleConfig shows every key.
type Config struct {
	// Name is the sensor's name; it must be the name in its certificate.
	Name string `yaml:"name"`
	// Interface is the network interface to capture on (AF_PACKET), e.g.
	// "eth1". Exactly one of Interface and Replay is set.
	Interface string `yaml:"interface"`
	// Sockets is the number of capture sockets (PACKET_FANOUT_HASH) and
	// decoding goroutines: one per core to give the sensor. Default 1.
	Sockets int `yaml:"sockets"`
	// Ring sizes each capture socket's kernel ring (TPACKET_V3).
	Ring Ring `yaml:"ring"`
	// Replay replays a capture file instead of capturing (for tests and
	// demonstrations).
	Replay *Replay `yaml:"replay"`
	// Monitor lists the addresses and prefixes the sensor watches; packets
	// to other destinations are ignored and counted.
	Monitor []string `yaml:"monitor"`
	// Exclude drops matching packets (e.g. the sensor's own management
	// traffic) and counts them.
	Exclude   []Exclusion `yaml:"exclude"`
	Collector Collector   `yaml:"collector"`
	Spool     Spool       `yaml:"spool"`
	Batch     Batch       `yaml:"batch"`
	// Metrics is the listen address of the Prometheus endpoint
	// (default 127.0.0.1:9470; "off" disables it).
	Metrics string `yaml:"metrics"`
	// Heartbeat is how often the sensor reports its health when it has no
	// batch to send (default 10s).
	Heartbeat time.Duration `yaml:"heartbeat"`

	monitor []netip.Prefix
	exclude []exclusion
}

// Ring sizes the kernel ring of each capture socket: BlockSize × Blocks
// bytes of memory per socket, locked while the sensor runs. A larger ring
// absorbs longer bursts without kernel drops (the tp_drops of the health
// report); a smaller one suits a small device.
type Ring struct {
	// BlockSize is one ring block ("1MiB", default): a multiple of the
	// page size, and at least the largest frame the link carries.
	BlockSize string `yaml:"block_size"`
	// Blocks is the number of blocks (default 64: 64 MiB per socket).
	Blocks int `yaml:"blocks"`

	blockBytes int
}

// Ring limits: a block holds at least a jumbo frame; a socket's ring stays
// within what one mmap of TPACKET_V3 accepts.
const (
	minRingBlock  = 64 << 10
	maxRingBlock  = 128 << 20
	maxRingBlocks = 1 << 16
	maxRingBytes  = 4 << 30
)

func (r *Ring) check(pageSize int) error {
	if r.BlockSize == "" {
		r.BlockSize = "1MiB"
	}
	if r.Blocks == 0 {
		r.Blocks = 64
	}
	n, err := ParseSize(r.BlockSize)
	switch {
	case err != nil:
		return fmt.Errorf("ring.block_size: %v", err)
	case n < minRingBlock || n > maxRingBlock || n%int64(pageSize) != 0:
		return fmt.Errorf("ring.block_size: %s, want a multiple of the page size (%d bytes) from 64KiB to 128MiB", r.BlockSize, pageSize)
	case r.Blocks < 2 || r.Blocks > maxRingBlocks:
		return fmt.Errorf("ring.blocks: %d, want 2 to %d", r.Blocks, maxRingBlocks)
	case n*int64(r.Blocks) > maxRingBytes:
		return fmt.Errorf("ring: %d blocks of %s is more than 4GiB per socket", r.Blocks, r.BlockSize)
	}
	r.blockBytes = int(n)
	return nil
}

// Replay configures the replay of a capture file.
type Replay struct {
	File string `yaml:"file"`
	// Realtime stamps each packet with the time it is replayed instead of
	// its capture time, so that a replay looks like live traffic.
	Realtime bool `yaml:"realtime"`
	// Rate limits the replay to this many packets per second (0: as fast
	// as the sensor can).
	Rate float64 `yaml:"rate"`
	// Loop replays the file this many times (0 or 1: once).
	Loop int `yaml:"loop"`
}

// Exclusion matches packets by source prefix, destination prefix and
// destination port label ("22/TCP"); every field given must match.
type Exclusion struct {
	Src  string `yaml:"src"`
	Dst  string `yaml:"dst"`
	Port string `yaml:"port"`
}

// Collector says where and how to send batches.
type Collector struct {
	// Address is the collector's host:port.
	Address string `yaml:"address"`
	// ServerName is the name in the collector's certificate, when it
	// differs from Address's host.
	ServerName string `yaml:"server_name"`
	// Cert, Key and CA are the files `nightjar ca enroll` wrote (relative
	// paths are relative to the configuration file).
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	CA   string `yaml:"ca"`
	// Window is the most batches sent and not yet acknowledged (default 8).
	Window int `yaml:"window"`
}

// Spool configures the on-disk spool of batches not yet acknowledged.
type Spool struct {
	Dir string `yaml:"dir"`
	// MaxSize bounds the spool ("1GiB", "500MB", bytes); when full, the
	// oldest batches are dropped and counted. Default 1GiB.
	MaxSize string `yaml:"max_size"`
	// Sync is "always" (default: each batch is fsynced before it is sent;
	// it survives a power failure) or "never" (it survives a crash of the
	// sensor, not of the machine).
	Sync string `yaml:"sync"`

	maxBytes int64
}

// Batch configures batching: a batch closes at Records records or when its
// oldest record has waited Latency, whichever comes first.
type Batch struct {
	Records int           `yaml:"records"` // default 4096
	Latency time.Duration `yaml:"latency"` // default 1s
}

type exclusion struct {
	src, dst         netip.Prefix
	hasSrc, hasDst   bool
	slot             uint32
	hasPort          bool
	srcText, dstText string
}

// LoadConfig reads and checks a configuration file. Relative file names in
// it are made relative to the file's directory.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sensor configuration: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("sensor configuration %s: %w", path, err)
	}
	c.resolvePaths(dirOf(path))
	return c, nil
}

// ParseConfig decodes and checks a configuration.
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	if err := yamlstrict.Decode(data, &c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty configuration")
		}
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) check() error {
	c.monitor, c.exclude = nil, nil
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Name == "" {
		bad("name: required (the sensor name in its certificate)")
	}
	switch {
	case c.Interface == "" && c.Replay == nil:
		bad("interface: required (or replay: for a capture file)")
	case c.Interface != "" && c.Replay != nil:
		bad("interface and replay: give one, not both")
	case c.Replay != nil && c.Replay.File == "":
		bad("replay.file: required")
	case c.Replay != nil && (c.Replay.Rate < 0 || c.Replay.Loop < 0):
		bad("replay: rate and loop must not be negative")
	}
	if c.Sockets == 0 {
		c.Sockets = 1
	}
	if c.Sockets < 0 || c.Sockets > 64 {
		bad("sockets: %d, want 1 to 64", c.Sockets)
	}
	if err := c.Ring.check(os.Getpagesize()); err != nil {
		bad("%v", err)
	}
	if len(c.Monitor) == 0 {
		bad("monitor: list the addresses or prefixes this sensor watches")
	}
	for _, m := range c.Monitor {
		p, err := parsePrefix(m)
		if err != nil {
			bad("monitor: %v", err)
			continue
		}
		c.monitor = append(c.monitor, p)
	}
	for i, e := range c.Exclude {
		x, err := e.parse()
		if err != nil {
			bad("exclude[%d]: %v", i, err)
			continue
		}
		c.exclude = append(c.exclude, x)
	}
	if c.Collector.Address == "" {
		bad("collector.address: required (host:port)")
	}
	if c.Collector.Cert == "" || c.Collector.Key == "" || c.Collector.CA == "" {
		bad("collector.cert, collector.key and collector.ca: required (the files `nightjar ca enroll` wrote)")
	}
	if c.Collector.Window == 0 {
		c.Collector.Window = 8
	}
	if c.Collector.Window < 1 || c.Collector.Window > 1024 {
		bad("collector.window: %d, want 1 to 1024", c.Collector.Window)
	}
	if c.Spool.Dir == "" {
		bad("spool.dir: required")
	}
	if c.Spool.MaxSize == "" {
		c.Spool.MaxSize = "1GiB"
	}
	n, err := ParseSize(c.Spool.MaxSize)
	if err != nil {
		bad("spool.max_size: %v", err)
	}
	c.Spool.maxBytes = n
	switch c.Spool.Sync {
	case "":
		c.Spool.Sync = "always"
	case "always", "never":
	default:
		bad("spool.sync: %q, want always or never", c.Spool.Sync)
	}
	if c.Batch.Records == 0 {
		c.Batch.Records = 4096
	}
	// A collector refuses batches above its max_batch_records, 65,536 by
	// default (a batch is appended in one go: its size is the others' wait).
	if c.Batch.Records < 1 || c.Batch.Records > 1<<16 {
		bad("batch.records: %d, want 1 to 65536 (the collector's default max_batch_records)", c.Batch.Records)
	}
	if c.Batch.Latency == 0 {
		c.Batch.Latency = time.Second
	}
	if c.Batch.Latency < time.Millisecond {
		bad("batch.latency: %v, want at least 1ms", c.Batch.Latency)
	}
	if c.Metrics == "" {
		c.Metrics = "127.0.0.1:9470"
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 10 * time.Second
	}
	if c.Heartbeat < 100*time.Millisecond {
		bad("heartbeat: %v, want at least 100ms", c.Heartbeat)
	}
	return errors.Join(errs...)
}

func (e Exclusion) parse() (exclusion, error) {
	var x exclusion
	var err error
	if e.Src == "" && e.Dst == "" && e.Port == "" {
		return x, errors.New("give src, dst or port")
	}
	if e.Src != "" {
		if x.src, err = parsePrefix(e.Src); err != nil {
			return x, fmt.Errorf("src: %v", err)
		}
		x.hasSrc, x.srcText = true, e.Src
	}
	if e.Dst != "" {
		if x.dst, err = parsePrefix(e.Dst); err != nil {
			return x, fmt.Errorf("dst: %v", err)
		}
		x.hasDst, x.dstText = true, e.Dst
	}
	if e.Port != "" {
		if x.slot, err = portcount.ParseLabel(e.Port); err != nil {
			return x, fmt.Errorf("port: %v", err)
		}
		x.hasPort = true
	}
	return x, nil
}

func (x *exclusion) match(r *record.Record) bool {
	return (!x.hasSrc || x.src.Contains(r.Src.Netip())) &&
		(!x.hasDst || x.dst.Contains(r.Dst.Netip())) &&
		(!x.hasPort || portcount.Slot(r.Key()) == x.slot)
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		if p != p.Masked() {
			return p, fmt.Errorf("%s has host bits set (did you mean %s?)", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseSize reads a size such as "1GiB", "500MB", "64KiB" or "4096".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 1GiB, 500MB or 4096", s)
	}
	return n * mult, nil
}

func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{&c.Collector.Cert, &c.Collector.Key, &c.Collector.CA, &c.Spool.Dir} {
		*p = joinIfRelative(dir, *p)
	}
	if c.Replay != nil {
		c.Replay.File = joinIfRelative(dir, c.Replay.File)
	}
}
