package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzPortSeriesQuery: whatever the query string of the endpoint with the
// most parameters, the answer is a JSON 200 or 400: never a 500 or a
// panic.
func FuzzPortSeriesQuery(f *testing.F) {
	fx := newFixture(f, 3_000)
	for _, q := range []string{
		"port=23/TCP",
		"port=23/TCP&port=ICMP&resolution=hour&from=2024-07-01&to=2024-07-03&by=group&group=Japan",
		"period=2199&port=ICMP&by=fleet&resolution=month",
		"from=1970-01-01T00:00:00Z&to=1970-01-01T00:00:00.000000001Z&port=1/udp",
		"from=2024-07-01T00:30:00%2B09:00&to=2024-08-01&port=445/tcp&sensor=jp-tokyo-1&format=csv",
		"period=2024Q3&port=GRE&port=IP-253&resolution=Day&by=SENSOR",
		"port=%00&period=%ff",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/port-series", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusBadRequest:
			var e Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Message == "" {
				t.Fatalf("?%s: 400 without a JSON error: %s", query, rec.Body)
			}
		case rec.Code != http.StatusOK:
			t.Fatalf("?%s: %d %s", query, rec.Code, rec.Body)
		}
	})
}
