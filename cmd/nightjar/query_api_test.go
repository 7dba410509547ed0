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
	tests := []struct {
		args   []string
		target string
	}{
		{[]string{"top-ports", "--period", "2024Q3", "--top", "3"}, "/api/v1/top-ports?period=2024Q3&top=3"},
		{[]string{"group-top-ports", "--period", "2024-07", "--group", "Japan"}, "/api/v1/group-top-ports?period=2024-07&group=Japan"},
		{[]string{"group-averages", "--from", "2024-07-01", "--to", "2024-07-03"}, "/api/v1/group-averages?from=2024-07-01&to=2024-07-03"},
		{[]string{"port-series", "--period", "2024Q3", "--port", "23/TCP,80/TCP", "--by", "group", "--resolution", "month"}, "/api/v1/port-series?period=2024Q3&port=23/TCP&port=80/TCP&by=group&resolution=month"},
		{[]string{"top-sources", "--period", "2024Q3"}, "/api/v1/top-sources?period=2024Q3"},
		{[]string{"port-sources", "--period", "2024Q3", "--top", "4"}, "/api/v1/port-sources?period=2024Q3&top=4"},
		{[]string{"tags", "--period", "2024Q3", "--sensor", "jp-1"}, "/api/v1/tags?period=2024Q3&sensor=jp-1"},
		{[]string{"sensors"}, "/api/v1/sensors"},
	}
	want := make([]any, len(tests))
	for i, tt := range tests {
		args := append(append([]string{"query"}, tt.args...), "--db", db, "--format", "json")
		code, stdout, stderr := nightjar(t, args...)
		if code != 0 {
			t.Fatalf("nightjar %v: exit %d: %s", args, code, stderr)
		}
		if err := json.Unmarshal([]byte(stdout), &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	st, err := duckdb.Open(t.Context(), db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := api.New(st, api.Options{})
	for i, tt := range tests {
		apiEqualsQuery(t, h, tt.target, tt.args, want[i])
	}
}

// apiEqualsQuery checks that the API's answer to target is want, the
// JSON answer of `nightjar query args`.
func apiEqualsQuery(t *testing.T, h http.Handler, target string, args []string, want any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	var got any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil {
		t.Errorf("GET %s: %d %s", target, rec.Code, rec.Body)
		return
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("GET %s (-) differs from nightjar query %v (+):\n%s", target, args, diff)
	}
}
