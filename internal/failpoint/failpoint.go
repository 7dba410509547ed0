// Package failpoint kills the process at a named point of a commit, for
// the crash tests: NIGHTJAR_FAILPOINT=NAME makes Hit(NAME) send SIGKILL to
// the process itself, the way a power cut or the OOM killer ends it (no
// deferred call, no flush). Unset, Hit costs one comparison.
//
// The points of a Flush, in order: duckdb.flush.after-raw (every raw
// record inserted, in the open transaction), duckdb.flush.after-ledger
// (their import or ledger entries written too), duckdb.flush.before-commit
// (the hours to roll up noted) and duckdb.flush.after-commit; then
// duckdb.rollup.before-commit (a rollup rebuild done but not committed).
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
