package storetest

import "testing"

// runQuestions runs the conformance tests of the questions beyond TopPorts.
func runQuestions(t *testing.T, open Opener) {}
