package sensor

import (
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

func TestExampleConfigParses(t *testing.T) {
	c, err := ParseConfig([]byte(ExampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "jp-tokyo-1" || c.Sockets != 2 || len(c.monitor) != 2 || len(c.exclude) != 2 ||
		c.Spool.maxBytes != 1<<30 || c.Batch.Latency != time.Second || c.Heartbeat != 10*time.Second ||
		c.Ring.blockBytes != 1<<20 || c.Ring.Blocks != 64 {
		t.Fatalf("parsed %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", ExampleConfig + "colector: x\n", "field colector not found"},
		{"empty", "", "empty configuration"},
		{"no source", "name: a\nmonitor: [198.18.0.0/24]\n", "interface: required"},
		{"both sources", strings.Replace(ExampleConfig, "# replay:", "replay:\n  file: x.pcap\n#", 1), "give one, not both"},
		{"host bits", strings.Replace(ExampleConfig, "198.18.1.0/24", "198.18.1.7/24", 1), "did you mean 198.18.1.0/24"},
		{"bad size", strings.Replace(ExampleConfig, "max_size: 1GiB", "max_size: lots", 1), `"lots" is not a size`},
		{"bad sync", strings.Replace(ExampleConfig, "sync: always", "sync: sometimes", 1), "want always or never"},
		{"bad port", strings.Replace(ExampleConfig, "port: 22/TCP", "port: 22/SCTP", 1), "exclude[1]: port"},
		{"empty exclusion", strings.Replace(ExampleConfig, "  - src: 198.18.1.250/32\n", "  - {}\n", 1), "give src, dst or port"},
		{"every missing field at once", "name: a\ninterface: eth0\n", "monitor: list"},
		{"ring block not of pages", strings.Replace(ExampleConfig, "block_size: 1MiB", "block_size: 100000", 1), "ring.block_size: 100000, want a multiple of the page size"},
		{"ring block too small", strings.Replace(ExampleConfig, "block_size: 1MiB", "block_size: 4KiB", 1), "from 64KiB to 128MiB"},
		{"ring of one block", strings.Replace(ExampleConfig, "blocks: 64", "blocks: 1", 1), "ring.blocks: 1, want 2 to 65536"},
		{"ring over 4GiB", strings.Replace(ExampleConfig, "block_size: 1MiB", "block_size: 128MiB", 1), "more than 4GiB per socket"},
		{"batch larger than a collector accepts", strings.Replace(ExampleConfig, "records: 4096", "records: 65537", 1), "batch.records: 65537, want 1 to 65536"},
		{"ring size typo", strings.Replace(ExampleConfig, "block_size: 1MiB", "block_size: 1 MB", 1), "want a multiple of the page size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRingDefaults: without ring:, each socket gets 64 blocks of 1 MiB;
// the sizes given reach the capture options.
func TestRingDefaults(t *testing.T) {
	base := "name: a\ninterface: eth0\nmonitor: [198.18.0.0/24]\ncollector: {address: c:1, cert: a, key: b, ca: c}\nspool: {dir: s}\n"
	c, err := ParseConfig([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ring.blockBytes != 1<<20 || c.Ring.Blocks != 64 || c.Ring.BlockSize != "1MiB" {
		t.Errorf("default ring %+v, want 64 blocks of 1MiB", c.Ring)
	}
	c, err = ParseConfig([]byte(base + "ring: {block_size: 256KiB, blocks: 512}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ring.blockBytes != 256<<10 || c.Ring.Blocks != 512 {
		t.Errorf("ring %+v, want 512 blocks of 256KiB", c.Ring)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "500MB": 500e6, "64 KiB": 64 << 10, "4096": 4096, "2B": 2} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "0", "1.5GiB", "9999999999TB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): no error", in)
		}
	}
}

func TestExclusionMatch(t *testing.T) {
	c, err := ParseConfig([]byte(ExampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	ssh := record.Record{Src: record.MustParseAddr("192.0.2.9"), Dst: record.MustParseAddr("198.18.1.1"), Protocol: record.ProtoTCP, DstPort: 22, HasTransport: true}
	telnet := ssh
	telnet.DstPort = 23
	mgmt := telnet
	mgmt.Src = record.MustParseAddr("198.18.1.250")
	for _, tc := range []struct {
		r    record.Record
		want bool
	}{{ssh, true}, {telnet, false}, {mgmt, true}} {
		got := false
		for i := range c.exclude {
			got = got || c.exclude[i].match(&tc.r)
		}
		if got != tc.want {
			t.Errorf("%v -> %v:%d excluded = %v, want %v", tc.r.Src, tc.r.Dst, tc.r.DstPort, got, tc.want)
		}
	}
}
