package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
)

// TestQueryJSONEqualsAPI: `nightjar query --format json` and the JSON API
// give the same answers (both use the shapes of package api).
func TestQueryJSONEqualsAPI(t *testing.T) {
	t.Parallel()
	db, _, _ := ingestSmall(t)
	apiEqualsQuery(t, db, []queryAPICase{
		{[]string{"top-ports", "--period", "2024Q3", "--top", "3"}, "/api/v1/top-ports?period=2024Q3&top=3"},
		{[]string{"group-top-ports", "--period", "2024-07", "--group", "Japan"}, "/api/v1/group-top-ports?period=2024-07&group=Japan"},
		{[]string{"group-averages", "--from", "2024-07-01", "--to", "2024-07-03"}, "/api/v1/group-averages?from=2024-07-01&to=2024-07-03"},
		{[]string{"port-series", "--period", "2024Q3", "--port", "23/TCP,80/TCP", "--by", "group", "--resolution", "month"}, "/api/v1/port-series?period=2024Q3&port=23/TCP&port=80/TCP&by=group&resolution=month"},
		{[]string{"top-sources", "--period", "2024Q3"}, "/api/v1/top-sources?period=2024Q3"},
		{[]string{"port-sources", "--period", "2024Q3", "--top", "4"}, "/api/v1/port-sources?period=2024Q3&top=4"},
		{[]string{"tags", "--period", "2024Q3", "--sensor", "jp-1"}, "/api/v1/tags?period=2024Q3&sensor=jp-1"},
		{[]string{"sensors"}, "/api/v1/sensors"},
	})
}

// queryAPICase is a question asked of `nightjar query` (args) and of the
// API (target).
type queryAPICase struct {
	args   []string
	target string
}

// apiEqualsQuery checks that the API over the database db answers each
// case's target as `nightjar query args --format json` does, and returns
// the API's handler (the database stays open for the test).
func apiEqualsQuery(t *testing.T, db string, cases []queryAPICase) http.Handler {
	t.Helper()
	// The commands first: the database has one user at a time.
	want := make([]any, len(cases))
	for i, c := range cases {
		queryJSON(t, &want[i], append(c.args, "--db", db)...)
	}
	st, err := duckdb.Open(t.Context(), db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := api.New(st, api.Options{})
	for i, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.target, nil))
		var got any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil {
			t.Errorf("GET %s: %d %s", c.target, rec.Code, rec.Body)
			continue
		}
		if diff := cmp.Diff(got, want[i]); diff != "" {
			t.Errorf("GET %s (-) differs from nightjar query %v (+):\n%s", c.target, c.args, diff)
		}
	}
	return h
}
