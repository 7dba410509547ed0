package storetest

import "testing"

// runExports runs the conformance tests of the exports.
func runExports(t *testing.T, open Opener) {}
