// Package testenv holds what tests need from their environment: the
// repository's capture corpus (testdata/corpus at the module root) and
// external tools. A missing tool skips the test with a clear message, except
// in CI, where NIGHTJAR_REQUIRE_INTEGRATION=1 turns every such skip into a
// failure; the corpus is part of the repository, so its absence is a failure
// everywhere.
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

// Root returns the repository's root: the nearest directory holding go.mod,
// looked up from the test's directory upwards.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Corpus returns the path of a directory of the repository's capture corpus
// (e.g. "scanners", "tcpdump-tests"; testdata/corpus/README.md says where
// each file comes from).
func Corpus(t testing.TB, sub string) string {
	t.Helper()
	p := filepath.Join(Root(t), "testdata", "corpus", sub)
	if st, err := os.Stat(p); err != nil || !st.IsDir() {
		t.Fatalf("capture corpus directory %s missing from the repository", p)
	}
	return p
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
