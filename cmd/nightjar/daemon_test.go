package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// TestDaemonDump: --dump prints the effective configuration of each daemon
// — the defaults alone, and defaults, file, environment and flags layered
// — in the form a --config file takes (golden files; -update rewrites
// them).
func TestDaemonDump(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "collector.yaml")
	writeText(t, file, "db: /var/lib/nightjar/telescope.duckdb\nca: /etc/nightjar/registry\nretention: 30d\ncollector:\n  rollup_interval: 1m\nui:\n  listen: \"off\"\n")
	for _, tc := range []struct {
		golden string
		env    map[string]string
		args   []string
	}{
		{"dump-collector-defaults.yaml", nil, []string{"collector", "--dump"}},
		{"dump-collector-layered.yaml", map[string]string{"NIGHTJAR_COLLECTOR_METRICS": "off", "NIGHTJAR_COLLECTOR_COLLECTOR_WINDOW": "8", "NIGHTJAR_COLLECTOR_DB": "/env/ignored.duckdb"},
			[]string{"collector", "--config", file, "--db", "/srv/flag.duckdb", "-v", "--dump"}},
		{"dump-serve-defaults.yaml", nil, []string{"serve", "--dump"}},
		{"dump-demo-defaults.yaml", nil, []string{"demo", "--dump"}},
		{"dump-demo-env.yaml", map[string]string{"NIGHTJAR_DEMO_LIVE_RATE": "50", "NIGHTJAR_DEMO_DATA": "/tmp/demo"}, []string{"demo", "--listen", "127.0.0.1:9000", "--dump"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := nightjar(t, tc.args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
			}
			golden(t, tc.golden, stdout)
		})
	}
}

// initRegistry makes a sensors' registry in dir with nightjar ca init.
func initRegistry(t *testing.T, dir string) string {
	t.Helper()
	registry := filepath.Join(dir, "registry")
	if code, _, stderr := nightjar(t, "ca", "init", "--dir", registry); code != 0 {
		t.Fatalf("ca init: %s", stderr)
	}
	return registry
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDaemonCheck: --check validates what the daemon would open and says
// so; a typo in a file, a variable or a value is an error naming it.
func TestDaemonCheck(t *testing.T) {
	dir := t.TempDir()
	registry := initRegistry(t, dir)
	db := filepath.Join(dir, "t.duckdb")
	good := filepath.Join(dir, "good.yaml")
	writeText(t, good, "db: "+db+"\nca: "+registry+"\nlisten: 127.0.0.1:0\n")
	typo := filepath.Join(dir, "typo.yaml")
	writeText(t, typo, "db: "+db+"\nca: "+registry+"\nui:\n  lisen: 127.0.0.1:0\n")
	for _, tc := range []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		want     string
	}{
		{"collector ok", nil, []string{"collector", "--config", good, "--check"}, 0,
			"configuration OK: database " + db + " (will be created), registry " + registry + " (0 sensors), sensors on 127.0.0.1:0, dashboard on 127.0.0.1:8080"},
		{"unknown key", nil, []string{"collector", "--config", typo, "--check"}, 1, "field lisen not found"},
		{"unknown variable", map[string]string{"NIGHTJAR_COLLECTOR_LISTN": "x"}, []string{"collector", "--config", good, "--check"}, 1, "NIGHTJAR_COLLECTOR_LISTN: no such setting"},
		{"bad variable", map[string]string{"NIGHTJAR_COLLECTOR_COLLECTOR_COMMIT_INTERVAL": "fast"}, []string{"collector", "--config", good, "--check"}, 1, `NIGHTJAR_COLLECTOR_COLLECTOR_COMMIT_INTERVAL: time: invalid duration "fast"`},
		{"missing file", nil, []string{"collector", "--config", filepath.Join(dir, "nope.yaml"), "--check"}, 1, "nope.yaml: no such file"},
		{"missing registry", nil, []string{"collector", "--db", db, "--ca", filepath.Join(dir, "nope"), "--check"}, 1, "ca: "},
		{"bad log level", nil, []string{"collector", "--config", good, "--check"}, 1, `log_level "loud": want debug, info, warn or error`},
		{"unsafe dashboard", nil, []string{"collector", "--config", good, "--ui", "0.0.0.0:8080", "--check"}, 1, "--insecure-listen"},
		{"serve without a database", nil, []string{"serve", "--db", filepath.Join(dir, "nope.duckdb"), "--check"}, 1, "nope.duckdb"},
		{"serve with a bad users file", nil, []string{"serve", "--db", good, "--users", filepath.Join(dir, "users.yaml"), "--check"}, 1, "ui.users: users file"},
		{"demo ok", nil, []string{"demo", "--check"}, 0, "configuration OK: dashboard on 127.0.0.1:8080, 2,000,000 packets of history, 200 live packets/s"},
		{"demo zero rate", map[string]string{"NIGHTJAR_DEMO_LIVE_RATE": "0"}, []string{"demo", "--check"}, 1, "--live-rate and --backfill must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if tc.name == "bad log level" {
				t.Setenv("NIGHTJAR_COLLECTOR_LOG_LEVEL", "loud")
			}
			code, stdout, stderr := nightjar(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("%v: exit %d, output %q%q; want exit %d and %q", tc.args, code, stdout, stderr, tc.wantCode, tc.want)
			}
		})
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("--check created the database %s", db)
	}
}

// TestCollectorConfigFile runs a collector from a --config file with one
// setting from the environment: it listens where the file says and stores
// into the file's database, and stops on Ctrl-C.
func TestCollectorConfigFile(t *testing.T) {
	dir := t.TempDir()
	registry := initRegistry(t, dir)
	db := filepath.Join(dir, "from-file.duckdb")
	file := filepath.Join(dir, "collector.yaml")
	writeText(t, file, "db: "+db+"\nca: "+registry+"\nlisten: 127.0.0.1:0\nmetrics: \"off\"\n")
	t.Setenv("NIGHTJAR_COLLECTOR_UI_LISTEN", "off")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testenv.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"collector", "--config", file}, strings.NewReader(""), &stdout, &stderr)
	}()
	listening := regexp.MustCompile(`collector listening on 127\.0\.0\.1:\d+`)
	deadline := time.Now().Add(time.Minute)
	for !listening.MatchString(stdout.String()) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no listener after a minute: %s %s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(stdout.String(), "dashboard:") {
		t.Errorf("NIGHTJAR_COLLECTOR_UI_LISTEN=off, and yet a dashboard: %s", stdout.String())
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the database of the file: %v", err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(stderr.String(), "collector stopped") {
			t.Errorf("exit %d after Ctrl-C: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the collector did not stop within 30 s of Ctrl-C")
	}
}
