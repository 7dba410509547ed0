package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCollectorFlags: bad flags are refused before anything is opened.
func TestCollectorFlags(t *testing.T) {
	dir := t.TempDir()
	db, ca := filepath.Join(dir, "x.duckdb"), filepath.Join(dir, "registry")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"collector"}, "--db PATH and --ca DIR are required"},
		{[]string{"collector", "--db", db, "--ca", ca, "--ui", "0.0.0.0:0"}, "--insecure-listen"},
		{[]string{"collector", "--db", db, "--ca", ca, "--tls-cert", "x.crt"}, "both --tls-cert and --tls-key"},
		{[]string{"collector", "--db", db, "--ca", ca, "--ui", "off"}, "registry"},
		{[]string{"collector", "--db", db, "--ca", ca, "--retention", "soon"}, "--retention"},
	} {
		code, _, stderr := nightjar(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error mentioning %q", tc.args, code, stderr, tc.want)
		}
	}
}
