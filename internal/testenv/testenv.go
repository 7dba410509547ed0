// Package testenv holds what tests need from their environment: the shared
// capture corpus and external tools. Missing pieces skip the test with a
// clear message, except in CI, where NIGHTJAR_REQUIRE_INTEGRATION=1 turns
// every such skip into a failure.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv is the environment variable that makes integration tests
// mandatory.
const RequireEnv = "NIGHTJAR_REQUIRE_INTEGRATION"

// Missing skips the test, or fails it when integration tests are required.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("integration test cannot run ("+RequireEnv+"=1): "+format, args...)
	}
	t.Skipf(format, args...)
}

// Corpus returns the path of a directory of ../shared/corpus (e.g.
// "scanners"), looked up from the test's directory upwards.
func Corpus(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "..", "shared", "corpus", sub)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			Missing(t, "shared corpus directory %q not found above the test's directory", sub)
			return ""
		}
		dir = parent
	}
}

// Tool returns the path of an external program.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not installed (scripts/deps.sh installs it): %v", name, err)
	}
	return p
}
