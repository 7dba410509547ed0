//go:build duckdb_arrow

package duckdb

import (
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/store/storetest"
)

// TestConformanceSmallArrowBatches runs the suite with Arrow batches of
// 1,000 records, so that most Appends hand full batches to the
// background insert and leaves a remainder for Flush: the suite's answers,
// Discard and crash recovery must not see the difference.
func TestConformanceSmallArrowBatches(t *testing.T) {
	defer func(n int) { arrowBatchRows = n }(arrowBatchRows)
	arrowBatchRows = 1000
	storetest.Run(t, openTemp, crash)
}
