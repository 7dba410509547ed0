package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Error is the body of every error answer. Param names the parameter at
// fault, when one is.
type Error struct {
	Message string `json:"error"`
	Param   string `json:"param,omitempty"`
	status  int    // the answer's status when not 400
}

func (e *Error) Error() string { return e.Message }

// badParam is a 400 about one parameter.
func badParam(param, format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...), Param: param}
}

// maxValues bounds the values of one repeated parameter.
const maxValues = 1000

// query reads the parameters of a request. Its getters record the first
// bad parameter in err and return a zero value then, so that an answer
// reads every parameter it needs and checks once, before asking the
// store. An empty value ("top=") is the same as none.
type query struct {
	values  url.Values
	path    func(name string) string
	now     time.Time
	limits  Limits
	csv     bool
	fileTag string // the period in CSV file names: "-2024Q3"
	err     error
}

// newQuery checks the parameters of r against those rt accepts, and reads
// the format.
func (h *handler) newQuery(r *http.Request, rt route) (*query, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &Error{Message: "malformed query string: " + err.Error()}
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(rt.params, name) {
			accepted := "none"
			if len(rt.params) > 0 {
				accepted = strings.Join(rt.params, ", ")
			}
			return nil, badParam(name, "unknown parameter %q (%s accepts: %s)", name, rt.path, accepted)
		}
		if len(values[name]) > maxValues {
			return nil, badParam(name, "%s is given %d times, more than %d", name, len(values[name]), maxValues)
		}
	}
	q := &query{values: values, path: r.PathValue, now: h.now().UTC(), limits: h.limits}
	switch f := q.one("format"); f {
	case "", "json":
	case "csv":
		if !rt.csv {
			return nil, badParam("format", "%s answers in JSON only", rt.path)
		}
		q.csv = true
	default:
		return nil, badParam("format", "unknown format %q (want json or csv)", f)
	}
	return q, q.err
}

// fail records the first bad parameter.
func (q *query) fail(param, format string, args ...any) {
	if q.err == nil {
		q.err = badParam(param, format, args...)
	}
}

// failWith records a store.ParamError as the first bad parameter.
func (q *query) failWith(err error) {
	var pe *store.ParamError
	if errors.As(err, &pe) {
		q.fail(pe.Param, "%s", pe.Msg)
	} else if q.err == nil {
		q.err = err
	}
}

// one returns the value of a parameter given at most once.
func (q *query) one(name string) string {
	vs := q.values[name]
	if len(vs) > 1 {
		q.fail(name, "%s is given %d times; give it once", name, len(vs))
		return ""
	}
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[0])
}

// list returns the values of a repeatable parameter (sensor=a&sensor=b).
func (q *query) list(name string) []string {
	var out []string
	for _, v := range q.values[name] {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// int returns an integer parameter in [lo, hi], def when absent.
func (q *query) int(name string, def, lo, hi int) int {
	s := q.one(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.fail(name, "%s: %q is not a whole number", name, s)
		return def
	}
	if n < lo || n > hi {
		q.fail(name, "%s must be between %d and %d, got %d", name, lo, hi, n)
		return def
	}
	return n
}

// top returns the top parameter: 10 by default, at most Limits.MaxTop.
func (q *query) top() int { return q.int("top", 10, 1, q.limits.MaxTop) }

// bool returns a boolean parameter (true, false, 1, 0), false when absent.
func (q *query) bool(name string) bool {
	s := q.one(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.fail(name, "%s: %q is not true or false", name, s)
	}
	return b
}

// period returns the period of period= (period.Parse) or from= and to=
// (period.ParseRange), the last DefaultDays days when none is given.
func (q *query) period() period.Period {
	name, from, to := q.one("period"), q.one("from"), q.one("to")
	var (
		p     period.Period
		err   error
		param = "period"
	)
	switch {
	case name != "" && (from != "" || to != ""):
		q.fail("period", "give either period or from and to, not both")
		return p
	case name != "":
		p, err = period.Parse(name)
	case from != "" && to != "":
		p, err = period.ParseRange(from, to)
		// The message names the bad one ("--from: ..."); when from is fine
		// on its own, it is to or the emptiness of the range.
		param = "from"
		if _, ferr := period.ParseRange(from, "9999-12-31"); ferr == nil {
			param = "to"
		}
	case from != "":
		q.fail("to", "a custom period needs both from and to")
		return p
	case to != "":
		q.fail("from", "a custom period needs both from and to")
		return p
	default:
		p = period.LastDays(DefaultDays, q.now)
	}
	if err != nil {
		q.fail(param, "%s", strings.TrimPrefix(err.Error(), "--"))
		return p
	}
	if name == "" {
		param = "to"
	}
	if err := p.CheckBounds(); err != nil {
		q.fail(param, "%s", err)
	} else if p.End.After(p.Start.AddDate(q.limits.MaxYears, 0, 0)) {
		q.fail(param, "%s is longer than %d years", p, q.limits.MaxYears)
	}
	q.fileTag = "-" + strings.NewReplacer(":", "", "/", "_").Replace(p.String())
	return p
}
