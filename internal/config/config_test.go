package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

type uiConfig struct {
	Listen string `yaml:"listen"`
	Public bool   `yaml:"public_port_graphs"`
}

type testConfig struct {
	DB       string        `yaml:"db"`
	Interval time.Duration `yaml:"commit_interval"`
	Rate     float64       `yaml:"live_rate"`
	Packets  uint64        `yaml:"backfill"`
	UI       uiConfig      `yaml:"ui"`
}

func defaults() testConfig {
	return testConfig{DB: "default.duckdb", Interval: 200 * time.Millisecond, Rate: 200, Packets: 1000, UI: uiConfig{Listen: "127.0.0.1:8080"}}
}

// resolve parses args into flags bound to cfg, then layers.
func resolve(t *testing.T, file string, environ, args []string) (testConfig, error) {
	t.Helper()
	var cfg testConfig
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.StringVar(&cfg.DB, "db", cfg.DB, "")
	fs.DurationVar(&cfg.Interval, "commit-interval", cfg.Interval, "")
	fs.StringVar(&cfg.UI.Listen, "ui", cfg.UI.Listen, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	err := Layers{File: file, EnvPrefix: "NIGHTJAR_TEST_", Environ: environ, Flags: fs}.Resolve(&cfg, defaults())
	return cfg, err
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLayers: defaults, then the file, then the environment, then the
// flags given.
func TestLayers(t *testing.T) {
	file := writeFile(t, "db: file.duckdb\ncommit_interval: 1s\nlive_rate: 50\nui:\n  listen: 127.0.0.1:9000\n")
	for _, tc := range []struct {
		name    string
		file    string
		environ []string
		args    []string
		want    testConfig
	}{
		{"defaults", "", nil, nil, defaults()},
		{"file over defaults", file, nil, nil,
			testConfig{DB: "file.duckdb", Interval: time.Second, Rate: 50, Packets: 1000, UI: uiConfig{Listen: "127.0.0.1:9000"}}},
		{"environment over file", file, []string{"NIGHTJAR_TEST_DB=env.duckdb", "NIGHTJAR_TEST_UI_PUBLIC_PORT_GRAPHS=true", "NIGHTJAR_TEST_BACKFILL=7", "PATH=/bin"}, nil,
			testConfig{DB: "env.duckdb", Interval: time.Second, Rate: 50, Packets: 7, UI: uiConfig{Listen: "127.0.0.1:9000", Public: true}}},
		{"flags over everything", file, []string{"NIGHTJAR_TEST_DB=env.duckdb", "NIGHTJAR_TEST_COMMIT_INTERVAL=3s"}, []string{"--db", "flag.duckdb", "--ui", "127.0.0.1:0"},
			testConfig{DB: "flag.duckdb", Interval: 3 * time.Second, Rate: 50, Packets: 1000, UI: uiConfig{Listen: "127.0.0.1:0"}}},
		{"a flag equal to its default still wins", file, nil, []string{"--commit-interval", "200ms"},
			testConfig{DB: "file.duckdb", Interval: 200 * time.Millisecond, Rate: 50, Packets: 1000, UI: uiConfig{Listen: "127.0.0.1:9000"}}},
		{"empty file", writeFile(t, ""), nil, nil, defaults()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolve(t, tc.file, tc.environ, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("Resolve() (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestLayerErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		environ    []string
		want       string
	}{
		{"unknown key", writeFile(t, "db: x\nlisten: y\n"), nil, "field listen not found"},
		{"unknown nested key", writeFile(t, "ui:\n  lisen: y\n"), nil, "field lisen not found"},
		{"bad duration in the file", writeFile(t, "commit_interval: soon\n"), nil, "line 1: cannot unmarshal !!str `soon` into time.Duration"},
		{"missing file", filepath.Join(t.TempDir(), "nope.yaml"), nil, "nope.yaml"},
		{"unknown variable", "", []string{"NIGHTJAR_TEST_DATABASE=x"}, "NIGHTJAR_TEST_DATABASE: no such setting (known: NIGHTJAR_TEST_BACKFILL, NIGHTJAR_TEST_COMMIT_INTERVAL, NIGHTJAR_TEST_DB, NIGHTJAR_TEST_LIVE_RATE, NIGHTJAR_TEST_UI_LISTEN, NIGHTJAR_TEST_UI_PUBLIC_PORT_GRAPHS)"},
		{"bad duration", "", []string{"NIGHTJAR_TEST_COMMIT_INTERVAL=5"}, `NIGHTJAR_TEST_COMMIT_INTERVAL: time: missing unit in duration "5"`},
		{"bad bool", "", []string{"NIGHTJAR_TEST_UI_PUBLIC_PORT_GRAPHS=yes please"}, `"yes please" is not true or false`},
		{"bad number", "", []string{"NIGHTJAR_TEST_BACKFILL=-3"}, `"-3" is not a whole number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolve(t, tc.file, tc.environ, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Resolve() = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestDump(t *testing.T) {
	out, err := Dump(defaults())
	if err != nil {
		t.Fatal(err)
	}
	want := "db: default.duckdb\ncommit_interval: 200ms\nlive_rate: 200\nbackfill: 1000\nui:\n  listen: 127.0.0.1:8080\n  public_port_graphs: false\n"
	if diff := cmp.Diff(string(out), want); diff != "" {
		t.Errorf("Dump() (-got, +want):\n%s", diff)
	}
	// What Dump writes, a file reads back.
	got, err := resolve(t, writeFile(t, string(out)), nil, nil)
	if err != nil || got != defaults() {
		t.Errorf("the dump read back: %+v, %v", got, err)
	}
}
