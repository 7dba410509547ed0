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
		c.Spool.maxBytes != 1<<30 || c.Batch.Latency != time.Second || c.Heartbeat != 10*time.Second {
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
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
