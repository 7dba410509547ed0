// Package failpoint kills the process at a named point of a commit, for
// the crash tests: NIGHTJAR_FAILPOINT=NAME makes Hit(NAME) send SIGKILL to
// the process itself, the way a power cut or the OOM killer ends it (no
// deferred call, no flush). Unset, Hit costs one comparison.
//
// The points: duckdb.flush.before-commit and duckdb.flush.after-commit
// (around the commit of appended records with their ledger or import
// entries), duckdb.rollup.before-commit (a rollup rebuild done but not
// committed).
package failpoint

import (
	"fmt"
	"os"
)

// Env names the failpoint to hit.
const Env = "NIGHTJAR_FAILPOINT"

var armed = os.Getenv(Env)

// Hit kills the process if name is the armed failpoint.
func Hit(name string) {
	if armed == "" || armed != name {
		return
	}
	fmt.Fprintf(os.Stderr, "failpoint %s: killing the process\n", name)
	kill()
}
