package conventions

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository's root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// walkRepository calls visit for every file below the repository root,
// leaving out testdata (captures, golden files) and hidden directories
// other than .ci (.git).
func walkRepository(t *testing.T, visit func(path string, d fs.DirEntry) error) {
	t.Helper()
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".") && name != ".ci") {
				return filepath.SkipDir
			}
			return nil
		}
		return visit(path, d)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// packages returns every directory of Go code below the repository root,
// with its files, leaving out generated code (protoc's, which has its own
// conventions).
func packages(t *testing.T) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	walkRepository(t, func(path string, _ fs.DirEntry) error {
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		if !ast.IsGenerated(file) {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if len(dirs) < 5 {
		t.Fatalf("found only %d packages under %s", len(dirs), repoRoot(t))
	}
	return dirs
}

// TestEveryPackageDocumented: each package says what it owns.
func TestEveryPackageDocumented(t *testing.T) {
	t.Parallel()
	for dir, files := range packages(t) {
		documented := false
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil && strings.TrimSpace(file.Doc.Text()) != "" {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package in %s has no package doc comment", dir)
		}
	}
}

// TestNoInitFunctions: components are wired by hand in main, never
// registered from init (STYLE.md).
func TestNoInitFunctions(t *testing.T) {
	t.Parallel()
	for _, files := range packages(t) {
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range file.Decls {
				if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
					t.Errorf("%s declares func init", f)
				}
			}
		}
	}
}
