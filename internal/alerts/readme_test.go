package alerts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeAlertsFile: the alerts file the README shows loads, with the
// thresholds, overrides and receivers it says.
func TestReadmeAlertsFile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "**The alerts file**")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README: no yaml block after **The alerts file**")
	}
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "  ")) // the block is indented in its list item
	}
	path := filepath.Join(t.TempDir(), "alerts.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Alerts.Thresholds.MinRatio != 3 || len(f.Alerts.Overrides) != 2 || f.Alerts.Disabled[0] != DetectTagSurge ||
		strings.Join(f.ReceiverNames(), ",") != "soc,team" || strings.Join(f.Alerts.Receivers, ",") != "soc,team" {
		t.Errorf("README's alerts file: %+v", f)
	}
}
