package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
)

// testOpenAPI checks the served document against the handlers: the same
// paths, the same parameters, and real answers that validate against the
// documented schemas.
func testOpenAPI(t *testing.T, f *fixture) {
	c := loadDocument(t, f.h)
	c.checkKeywords(t, c.doc["components"].(map[string]any)["schemas"], "#/components/schemas")
	paths := c.doc["paths"].(map[string]any)
	routes := (&handler{}).routes()
	var served []string
	for _, rt := range routes {
		served = append(served, rt.path)
	}
	// The API answers the GETs; the POSTs are the admins' actions on
	// alerts, which the web UI serves (its tests check them).
	var documented []string
	for _, path := range keys(paths) {
		for _, method := range keys(paths[path].(map[string]any)) {
			if method != "get" && method != "post" {
				t.Errorf("%s: operation %s (the API answers get, the web UI post)", path, method)
			}
		}
		if lookup(paths, path, "get") != nil {
			documented = append(documented, path)
		}
	}
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented paths %v, served routes %v", documented, served)
	}

	for _, rt := range routes {
		op, ok := lookup(paths, rt.path, "get").(map[string]any)
		if !ok {
			continue
		}
		params := c.parameters(t, op)
		var query []string
		path := rt.path
		for _, p := range params {
			if p.in == "path" {
				path = strings.ReplaceAll(path, "{"+p.name+"}", url.PathEscape(fmt.Sprint(p.example)))
			} else {
				query = append(query, p.name)
			}
		}
		if slices.Sort(query); !slices.Equal(query, sorted(rt.params)) {
			t.Errorf("%s: documented query parameters %v, accepted %v", rt.path, query, sorted(rt.params))
		}
		if strings.Contains(path, "{") {
			t.Errorf("%s: a path parameter is not documented", rt.path)
		}
		if got := f.do(http.MethodGet, path); got.Code == http.StatusNotFound {
			t.Errorf("GET %s: 404", path)
		}
		_, hasCSV := lookup(op, "responses", "200", "content", "text/csv").(map[string]any)
		if hasCSV != rt.csv {
			t.Errorf("%s: text/csv documented %v, answered %v", rt.path, hasCSV, rt.csv)
		}
		// Each documented parameter, with its example (and the required
		// ones), is accepted; the JSON answers validate.
		for _, p := range params {
			if p.in != "query" {
				continue
			}
			v := url.Values{}
			for _, other := range params {
				if other.in == "query" && (other.required || other.name == p.name) {
					other.addExample(v)
				}
			}
			target := path + "?" + v.Encode()
			got := f.do(http.MethodGet, target)
			var e Error
			json.Unmarshal(got.Body.Bytes(), &e)
			switch {
			case got.Code == http.StatusNotFound || got.Code >= 500 || strings.HasPrefix(e.Message, "unknown parameter"):
				t.Errorf("GET %s (the example of %s): %d %s", target, p.name, got.Code, got.Body)
			case got.Code == http.StatusOK && got.Header().Get("Content-Type") == "application/json":
				c.checkAnswer(t, op, target, got.Code, got.Body.Bytes())
			}
		}
	}

	// Real answers of every endpoint, and errors.
	targets := []string{"/api/v1/overview", "/api/v1/openapi.json", "/api/v1/group-averages?period=2024-07&daily=1"}
	for _, tt := range endpointCases(t, f) {
		targets = append(targets, tt.target)
	}
	for _, tt := range badInputs {
		targets = append(targets, tt.target)
	}
	for _, target := range targets {
		got := f.do(http.MethodGet, target)
		c.checkAnswer(t, c.operation(paths, target), target, got.Code, got.Body.Bytes())
	}
	got := f.do(http.MethodPost, "/api/v1/tags")
	c.checkAnswer(t, c.operation(paths, "/api/v1/tags"), "POST /api/v1/tags", got.Code, got.Body.Bytes())
}

// loadDocument gets the OpenAPI document h serves.
func loadDocument(t *testing.T, h http.Handler) *schemaChecker {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Body)
	}
	doc, ok := decode(t, rec.Body.Bytes()).(map[string]any)
	if !ok || doc["openapi"] != "3.1.0" {
		t.Fatalf("the document is not OpenAPI 3.1.0: %.200s", rec.Body)
	}
	return &schemaChecker{doc: doc}
}

// TestEmptyStore: a new store (a collector's first minutes) answers every
// endpoint with nothing, as documented.
func TestEmptyStore(t *testing.T) {
	t.Parallel()
	st, err := duckdb.Open(t.Context(), filepath.Join(t.TempDir(), "empty.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := New(st, Options{})
	c := loadDocument(t, h)
	paths := c.doc["paths"].(map[string]any)
	for _, target := range []string{
		"/api/v1/sensors", "/api/v1/groups", "/api/v1/overview", "/api/v1/top-ports", "/api/v1/group-top-ports",
		"/api/v1/group-averages?daily=true", "/api/v1/port-series?port=23/TCP", "/api/v1/port-series?port=23/TCP&by=group",
		"/api/v1/port-series?port=23/TCP&by=fleet&resolution=hour&period=2024-07-01", "/api/v1/top-sources", "/api/v1/port-sources",
		"/api/v1/tags", "/api/v1/sources/192.0.2.1", "/api/v1/top-ports?format=csv",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", target, rec.Code, rec.Body)
			continue
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			c.checkAnswer(t, c.operation(paths, target), target, rec.Code, rec.Body.Bytes())
		}
	}
}

// decode decodes JSON with numbers as json.Number, to tell integers.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v: %.200s", err, b)
	}
	return v
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// lookup follows keys through nested objects; nil when one is missing.
func lookup(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// schemaChecker validates values against the subset of JSON Schema
// (2020-12, as OpenAPI 3.1 uses it) that the document uses. A keyword
// outside the subset is an error (checkKeywords), so that the document
// cannot say what the test does not check.
type schemaChecker struct{ doc map[string]any }

// keywords are those check understands; annotations are not checked.
var (
	keywords    = []string{"type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum", "anyOf", "$ref", "minimum", "maximum", "format"}
	annotations = []string{"description", "default", "example", "title"}
)

// checkKeywords checks that the schemas (a map of names to schemas) use
// only keywords and annotations.
func (c *schemaChecker) checkKeywords(t *testing.T, schemas any, at string) {
	t.Helper()
	var walk func(s any, at string)
	walk = func(s any, at string) {
		m, ok := s.(map[string]any)
		if !ok {
			t.Errorf("%s: a schema is not an object", at)
			return
		}
		for k, v := range m {
			switch {
			case k == "properties":
				for name, p := range v.(map[string]any) {
					walk(p, at+"/properties/"+name)
				}
			case k == "items" || (k == "additionalProperties" && v != false):
				walk(v, at+"/"+k)
			case k == "anyOf":
				for i, s := range v.([]any) {
					walk(s, fmt.Sprintf("%s/anyOf/%d", at, i))
				}
			case k == "format" && v != "date-time" && v != "date":
				t.Errorf("%s: format %v is not checked", at, v)
			case !slices.Contains(keywords, k) && !slices.Contains(annotations, k):
				t.Errorf("%s: keyword %q is not checked", at, k)
			}
		}
	}
	for name, s := range schemas.(map[string]any) {
		walk(s, at+"/"+name)
	}
}

// check returns the violations of schema by v at path.
func (c *schemaChecker) check(schema any, v any, path string) []string {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		target := lookup(c.doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
		if target == nil {
			return []string{path + ": unresolved $ref " + ref}
		}
		if errs := c.check(target, v, path); len(errs) > 0 {
			return errs
		}
	}
	if alts, ok := s["anyOf"].([]any); ok {
		var all []string
		for _, alt := range alts {
			errs := c.check(alt, v, path)
			if len(errs) == 0 {
				all = nil
				break
			}
			all = append(all, errs...)
		}
		if all != nil {
			return append([]string{path + ": matches no anyOf alternative"}, all...)
		}
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if typ, ok := s["type"]; ok {
		types, ok := typ.([]any)
		if !ok {
			types = []any{typ}
		}
		if !slices.ContainsFunc(types, func(want any) bool { return typeOf(v, want.(string)) }) {
			bad("%T %.60v is not of type %v", v, v, typ)
			return errs
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		bad("%v is not one of %v", v, enum)
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, req := range asStrings(s["required"]) {
			if _, ok := v[req]; !ok {
				bad("required property %q is missing", req)
			}
		}
		for k, pv := range v {
			switch ps, ok := props[k]; {
			case ok:
				errs = append(errs, c.check(ps, pv, path+"."+k)...)
			case s["additionalProperties"] == false:
				bad("property %q is not documented", k)
			case s["additionalProperties"] != nil:
				errs = append(errs, c.check(s["additionalProperties"], pv, path+"."+k)...)
			}
		}
	case []any:
		if n, ok := s["minItems"].(json.Number); ok && int64(len(v)) < must(n.Int64()) {
			bad("%d items, fewer than %s", len(v), n)
		}
		if n, ok := s["maxItems"].(json.Number); ok && int64(len(v)) > must(n.Int64()) {
			bad("%d items, more than %s", len(v), n)
		}
		if items, ok := s["items"]; ok {
			for i, item := range v {
				errs = append(errs, c.check(items, item, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case json.Number:
		x, _ := v.Float64()
		if lo, ok := s["minimum"].(json.Number); ok {
			if m, _ := lo.Float64(); x < m {
				bad("%v is below the minimum %v", v, lo)
			}
		}
		if hi, ok := s["maximum"].(json.Number); ok {
			if m, _ := hi.Float64(); x > m {
				bad("%v is above the maximum %v", v, hi)
			}
		}
	case string:
		layout := map[any]string{"date-time": time.RFC3339Nano, "date": time.DateOnly}[s["format"]]
		if _, err := time.Parse(layout, v); layout != "" && err != nil {
			bad("%q is not a %v", v, s["format"])
		}
	}
	return errs
}

func must[T any](v T, _ error) T { return v }

func typeOf(v any, typ string) bool {
	switch v := v.(type) {
	case nil:
		return typ == "null"
	case bool:
		return typ == "boolean"
	case string:
		return typ == "string"
	case []any:
		return typ == "array"
	case map[string]any:
		return typ == "object"
	case json.Number:
		_, err := v.Int64()
		return typ == "number" || (typ == "integer" && err == nil)
	}
	return false
}

func asStrings(v any) []string {
	var out []string
	for _, s := range asSlice(v) {
		out = append(out, s.(string))
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// operation returns the documented GET of the path of target, matching
// path templates.
func (c *schemaChecker) operation(paths map[string]any, target string) map[string]any {
	path, _, _ := strings.Cut(target, "?")
	for tmpl, item := range paths {
		if matchesTemplate(tmpl, path) {
			op, _ := lookup(item, "get").(map[string]any)
			return op
		}
	}
	return nil
}

// matchesTemplate reports whether path is of the path template tmpl:
// the same segments, a {parameter} standing for any one.
func matchesTemplate(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, seg := range ts {
		if seg != ps[i] && !(strings.HasPrefix(seg, "{") && ps[i] != "") {
			return false
		}
	}
	return true
}

// checkAnswer validates a JSON answer against the schema op documents for
// its status.
func (c *schemaChecker) checkAnswer(t *testing.T, op map[string]any, target string, status int, body []byte) {
	t.Helper()
	resp := lookup(op, "responses", fmt.Sprint(status))
	if ref, ok := lookup(resp, "$ref").(string); ok {
		resp = lookup(c.doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
	}
	schema := lookup(resp, "content", "application/json", "schema")
	if schema == nil {
		t.Errorf("GET %s: status %d has no documented JSON answer", target, status)
		return
	}
	if errs := c.check(schema, decode(t, body), "$"); len(errs) > 0 {
		t.Errorf("GET %s: the %d answer does not validate:\n%s", target, status, strings.Join(errs[:min(len(errs), 10)], "\n"))
	}
}

// docParam is a documented parameter.
type docParam struct {
	name, in string
	required bool
	example  any
}

// addExample adds the parameter's example to v (each element of a list).
func (p docParam) addExample(v url.Values) {
	if list, ok := p.example.([]any); ok {
		for _, e := range list {
			v.Add(p.name, fmt.Sprint(e))
		}
		return
	}
	v.Add(p.name, fmt.Sprint(p.example))
}

// parameters returns the parameters of op, references resolved; each must
// have an example.
func (c *schemaChecker) parameters(t *testing.T, op map[string]any) []docParam {
	t.Helper()
	var out []docParam
	for _, p := range asSlice(op["parameters"]) {
		if ref, ok := lookup(p, "$ref").(string); ok {
			p = lookup(c.doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
		}
		m, _ := p.(map[string]any)
		dp := docParam{name: fmt.Sprint(m["name"]), in: fmt.Sprint(m["in"]), required: m["required"] == true, example: m["example"]}
		if dp.example == nil {
			t.Errorf("parameter %s has no example", dp.name)
		}
		c.checkKeywords(t, map[string]any{dp.name: m["schema"]}, "parameter")
		if errs := c.check(m["schema"], dp.example, "parameter "+dp.name); len(errs) > 0 {
			t.Errorf("the example of %s does not validate: %v", dp.name, errs)
		}
		out = append(out, dp)
	}
	return out
}
