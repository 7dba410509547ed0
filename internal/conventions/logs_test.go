package conventions

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// snakeCase is the shape of every log key: "batches", "spooled_batches".
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// loggerNames are the receivers of log calls: the slog package and the
// fields and variables that hold a *slog.Logger. The check is syntactic
// (type-checking the whole module from a test would take longer than the
// rest of the suite), so it recognises loggers by name; TestLogKeys fails if
// it finds too few calls, which would mean they are named otherwise.
var loggerNames = map[string]bool{"slog": true, "log": true, "logger": true, "Logger": true}

// logMethods maps a log method (of slog or *slog.Logger) to the number of
// arguments before its key/value pairs: the message, and the context and
// level where the method takes them.
var logMethods = map[string]int{
	"Debug": 1, "Info": 1, "Warn": 1, "Error": 1,
	"DebugContext": 2, "InfoContext": 2, "WarnContext": 2, "ErrorContext": 2,
	"Log": 3, "With": 0,
}

// attrFuncs are slog's Attr constructors: their first argument is a key.
var attrFuncs = map[string]bool{
	"String": true, "Int": true, "Int64": true, "Uint64": true, "Float64": true,
	"Bool": true, "Time": true, "Duration": true, "Any": true, "Group": true,
}

// logCall is what TestLogKeys checks of one call: where it is and its
// key/value arguments.
type logCall struct {
	pos  token.Position
	args []ast.Expr
}

// logCalls returns every call of a log method on a logger in the file.
func logCalls(fset *token.FileSet, file *ast.File) []logCall {
	var calls []logCall
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		skip, ok := logMethods[sel.Sel.Name]
		if !ok || !loggerNames[lastName(sel.X)] || len(call.Args) < skip {
			return true
		}
		calls = append(calls, logCall{pos: fset.Position(call.Pos()), args: call.Args[skip:]})
		return true
	})
	return calls
}

// lastName is the last identifier of x: "log" for s.c.log, "slog" for slog.
func lastName(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	}
	return ""
}

// slogAttr returns the name of the slog Attr constructor x calls, if it
// calls one.
func slogAttr(x ast.Expr) (string, *ast.CallExpr) {
	call, ok := x.(*ast.CallExpr)
	if !ok {
		return "", nil
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || lastName(sel.X) != "slog" || !attrFuncs[sel.Sel.Name] {
		return "", nil
	}
	return sel.Sel.Name, call
}

// looksLikeDuration reports whether x is, by its shape, a time.Duration:
// time.Since/Until(…), time.Duration(…), a time unit, or d.Round/Truncate
// to a time unit.
func looksLikeDuration(x ast.Expr) bool {
	switch x := x.(type) {
	case *ast.SelectorExpr:
		return lastName(x.X) == "time" && timeUnits[x.Sel.Name]
	case *ast.BinaryExpr:
		return looksLikeDuration(x.X) || looksLikeDuration(x.Y)
	case *ast.CallExpr:
		sel, ok := x.Fun.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		if lastName(sel.X) == "time" {
			return sel.Sel.Name == "Since" || sel.Sel.Name == "Until" || sel.Sel.Name == "Duration"
		}
		return (sel.Sel.Name == "Round" || sel.Sel.Name == "Truncate") && len(x.Args) == 1 && looksLikeDuration(x.Args[0])
	}
	return false
}

var timeUnits = map[string]bool{
	"Nanosecond": true, "Microsecond": true, "Millisecond": true,
	"Second": true, "Minute": true, "Hour": true,
}

// keyProblems returns what is wrong with the key/value arguments of one log
// call (or of one slog.Group).
func keyProblems(args []ast.Expr) []string {
	var problems []string
	check := func(key string, value ast.Expr) {
		if !snakeCase.MatchString(key) {
			problems = append(problems, fmt.Sprintf("key %q is not snake_case", key))
		}
		if value != nil && looksLikeDuration(value) {
			problems = append(problems, fmt.Sprintf("key %q logs a time.Duration: log seconds (d.Seconds()) under a key ending in _seconds", key))
		}
	}
	for i := 0; i < len(args); i++ {
		if name, call := slogAttr(args[i]); call != nil {
			if len(call.Args) == 0 {
				continue
			}
			if key, ok := stringLit(call.Args[0]); ok {
				var value ast.Expr
				if len(call.Args) > 1 {
					value = call.Args[1]
				}
				check(key, value)
			}
			if name == "Duration" {
				problems = append(problems, "slog.Duration: log seconds (d.Seconds()) under a key ending in _seconds")
			}
			if name == "Group" {
				problems = append(problems, keyProblems(call.Args[1:])...)
			}
			continue
		}
		// Anything else in key position is a key (slog's rule for strings;
		// a named constant or an Attr variable is not checked).
		var value ast.Expr
		if i+1 < len(args) {
			value = args[i+1]
		}
		if key, ok := stringLit(args[i]); ok {
			check(key, value)
		}
		i++
	}
	return problems
}

func stringLit(x ast.Expr) (string, bool) {
	lit, ok := x.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// TestLogKeys: log keys are snake_case and durations are logged as seconds
// (STYLE.md), so that log processors can index and compare them.
func TestLogKeys(t *testing.T) {
	t.Parallel()
	found := 0
	for _, files := range packages(t) {
		for _, f := range files {
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, call := range logCalls(fset, file) {
				found++
				for _, p := range keyProblems(call.args) {
					t.Errorf("%s: %s", call.pos, p)
				}
			}
		}
	}
	// The module makes about fifty log calls; far fewer means loggerNames
	// no longer matches how they are named.
	if found < 30 {
		t.Errorf("found %d log calls, want at least 30: are loggers named other than %v?", found, loggerNames)
	}
}

// TestKeyProblems pins what the checker flags, on a made-up call.
func TestKeyProblems(t *testing.T) {
	t.Parallel()
	src := `package p
func f() {
	s.log.Info("msg", "ok_key", 1, "batches in ledger", 2, "Upper", 3, "took", time.Since(t0),
		"wait", d.Round(time.Millisecond), "took_seconds", time.Since(t0).Seconds(),
		slog.String("Bad Attr", "x"), slog.Duration("elapsed", d), slog.Group("g", "inner key", 1))
	t.Error("not a log", "a key", 1)
}`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls := logCalls(fset, file)
	if len(calls) != 1 {
		t.Fatalf("logCalls() found %d calls, want 1 (t.Error is not a log call)", len(calls))
	}
	got := keyProblems(calls[0].args)
	want := []string{
		`key "batches in ledger" is not snake_case`,
		`key "Upper" is not snake_case`,
		`key "took" logs a time.Duration: log seconds (d.Seconds()) under a key ending in _seconds`,
		`key "wait" logs a time.Duration: log seconds (d.Seconds()) under a key ending in _seconds`,
		`key "Bad Attr" is not snake_case`,
		"slog.Duration: log seconds (d.Seconds()) under a key ending in _seconds",
		`key "inner key" is not snake_case`,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("keyProblems() (-got, +want):\n%s", diff)
	}
}
