package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// TestSensorCommand: the sensor's configuration help and check, the way an
// operator sets a sensor up.
func TestSensorCommand(t *testing.T) {
	code, example, _ := nightjar(t, "sensor", "--example-config")
	if code != 0 || !strings.Contains(example, "monitor:") || !strings.Contains(example, "spool:") {
		t.Fatalf("--example-config: exit %d\n%s", code, example)
	}
	dir := t.TempDir()
	registry := filepath.Join(dir, "registry")
	if code, _, stderr := nightjar(t, "ca", "init", "--dir", registry); code != 0 {
		t.Fatal(stderr)
	}
	creds := filepath.Join(dir, "sensor")
	if code, _, stderr := nightjar(t, "ca", "enroll", "--dir", registry, "--name", "jp-tokyo-1", "--group", "Japan", "--country", "JP",
		"--prefix", "198.18.1.0/24", "--out", creds); code != 0 {
		t.Fatal(stderr)
	}
	// The example, pointed at a capture file instead of an interface.
	config := strings.Replace(example, "interface: eth1", "replay:\n  file: "+filepath.Join(testenv.Corpus(t, "scanners"), "zmap_2.1.1_tcp23.pcap"), 1)
	config = strings.Replace(config, "dir: /var/spool/nightjar", "dir: spool", 1)
	path := filepath.Join(creds, "sensor.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := nightjar(t, "sensor", "--check", "--config", path)
	if code != 0 || !strings.Contains(stdout, "usable") {
		t.Fatalf("--check: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, tc := range []struct {
		name, config, want string
	}{
		{"wrong name", strings.Replace(config, "name: jp-tokyo-1", "name: jp-osaka-1", 1), `is for sensor "jp-tokyo-1", but the configuration's name is "jp-osaka-1"`},
		{"unknown key", config + "colector: x\n", "field colector not found"},
		{"missing certificate", strings.Replace(config, "cert: sensor.crt", "cert: nowhere.crt", 1), "nowhere.crt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(creds, "bad.yaml")
			if err := os.WriteFile(bad, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := nightjar(t, "sensor", "--check", "--config", bad)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want an error mentioning %q", code, stderr, tc.want)
			}
		})
	}
	if code, _, stderr := nightjar(t, "sensor"); code == 0 || !strings.Contains(stderr, "--config FILE is required") {
		t.Fatalf("no --config: exit %d, %q", code, stderr)
	}
}
