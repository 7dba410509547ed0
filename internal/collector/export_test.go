package collector

// LedgerRuns is ledgerRuns, for the tests of the package collector_test.
const LedgerRuns = ledgerRuns
