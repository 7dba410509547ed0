package devices

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
)

// benchBody is a login page of about 2 KB, the size banner scans keep.
var benchBody = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Login</title>` +
	`<link rel="stylesheet" href="/css/style.css"></head><body><form action="/login.cgi" method="post">` +
	strings.Repeat(`<div class="row"><label>User name</label><input type="text" name="user"></div>`, 20) +
	`<script src="/js/app.js"></script></body></html>`

// repeatedRecords are 1,000 distinct records, drawn Zipf-like as real
// scans repeat them: the simulated device models and generic servers.
func repeatedRecords() []banner.Record {
	var pool []banner.Record
	for _, p := range simulate.DeviceProfiles() {
		pool = append(pool, p.Services...)
	}
	servers := []string{"nginx", "Apache", "lighttpd", "Boa/0.94.14rc21", "GoAhead-Webs", "micro_httpd", "uhttpd", "mini_httpd/1.19"}
	for i := len(pool); i < 1000; i++ {
		pool = append(pool, banner.Record{Port: 80, HTTP: banner.HTTP{Status: 200,
			Title:  fmt.Sprintf("Web Management %d", i%97),
			Server: servers[i%len(servers)] + "/" + strconv.Itoa(i%13),
			Body:   benchBody[:len(benchBody)-i%200] + strconv.Itoa(i)}})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(len(pool)-1))
	out := make([]banner.Record, 1<<16)
	for i := range out {
		out[i] = pool[zipf.Uint64()]
	}
	return out
}

// BenchmarkMatch matches banner records against the shipped rules: (a)
// as real scans repeat values, (b) every value distinct (each record has
// a new title, Server header, realm, certificate subject and 2 KB body).
func BenchmarkMatch(b *testing.B) {
	s, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("repeated", func(b *testing.B) {
		recs := repeatedRecords()
		var dst []Match
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			dst = s.Match(&recs[i%len(recs)], dst[:0])
		}
	})
	b.Run("distinct", func(b *testing.B) {
		g := newDistinct()
		var dst []Match
		b.ReportAllocs()
		b.SetBytes(int64(len(benchBody)))
		for i := 0; b.Loop(); i++ {
			rec := g.record(i)
			dst = s.Match(&rec, dst[:0])
		}
	})
	// The generator of (b) alone, to read (b) net of it.
	b.Run("distinct-generator", func(b *testing.B) {
		g := newDistinct()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = g.record(i)
		}
	})
}

// distinct makes records whose every value is new.
type distinct struct{ buf []byte }

func newDistinct() *distinct { return &distinct{} }

func (d *distinct) value(prefix string, i int, suffix string) string {
	d.buf = append(strconv.AppendInt(append(d.buf[:0], prefix...), int64(i), 10), suffix...)
	return string(d.buf)
}

func (d *distinct) record(i int) banner.Record {
	return banner.Record{Port: 80, HTTP: banner.HTTP{Status: 200,
		Title:           d.value("Router ", i, " login"),
		Server:          d.value("httpd/1.", i, ""),
		WWWAuthenticate: d.value(`Basic realm="device `, i, `"`),
		Body:            d.value(benchBody[:1000], i, benchBody[1000:])},
		TLS: banner.TLS{Subject: d.value("CN=host-", i, ",O=Example,C=JP")}}
}
