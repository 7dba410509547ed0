package conventions

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repositoryFiles returns the path (relative to the root) and contents of
// every file walkRepository visits that is code, a script or a build file:
// all but documentation (*.md) and binaries.
func repositoryFiles(t *testing.T) map[string][]byte {
	t.Helper()
	root := repoRoot(t)
	files := map[string][]byte{}
	walkRepository(t, func(path string, d fs.DirEntry) error {
		if strings.HasSuffix(path, ".md") || !d.Type().IsRegular() {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(src, 0) >= 0 { // a binary (a built command left behind)
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files[rel] = src
		return nil
	})
	if files["go.mod"] == nil || files[filepath.Join("scripts", "test.sh")] == nil {
		t.Fatalf("walked %d files under %s, without go.mod or scripts/test.sh", len(files), root)
	}
	return files
}

// TestNothingReadsOutsideTheRepository: a fresh clone has nothing beside
// it, so no test, script or build file may refer to the shared directory of
// the project's workspace; the captures the tests need live in
// testdata/corpus.
func TestNothingReadsOutsideTheRepository(t *testing.T) {
	t.Parallel()
	// Split so that this file does not match itself.
	forbidden := []string{".." + "/shared", "shared" + "/corpus", "shared" + "/data"}
	for rel, src := range repositoryFiles(t) {
		sc := bufio.NewScanner(bytes.NewReader(src))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			for _, f := range forbidden {
				if strings.Contains(sc.Text(), f) {
					t.Errorf("%s:%d refers to %q, outside the repository: %s", rel, n, f, strings.TrimSpace(sc.Text()))
				}
			}
		}
		if err := sc.Err(); err != nil {
			t.Errorf("read %s: %v", rel, err)
		}
	}
}

// TestReadmeLayoutListsEveryPackage: the README's layout block names every
// package directory of cmd/ and internal/ (a nested package may be named by
// its last two elements, e.g. "store/duckdb" on its parent's line).
func TestReadmeLayoutListsEveryPackage(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no \"## Layout\" section")
	}
	_, block, ok := strings.Cut(after, "```\n")
	block, _, closed := strings.Cut(block, "```")
	if !ok || !closed {
		t.Fatal("README.md's layout section has no ``` block")
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(block, "\n") {
		for _, word := range strings.Fields(line) {
			listed[strings.Trim(word, "/,;:")] = true
		}
	}
	root := repoRoot(t)
	for dir := range packages(t) {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		parts := strings.Split(rel, "/")
		if parts[0] != "cmd" && parts[0] != "internal" {
			continue
		}
		if listed[rel] || len(parts) > 2 && listed[strings.Join(parts[len(parts)-2:], "/")] {
			continue
		}
		t.Errorf("README.md's layout does not list %s/", rel)
	}
}
