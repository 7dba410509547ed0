// Package enrich is the pipeline's enrich stage: it sets each record's
// record.Origin — the country and network of its source address from the
// GeoIP and ASN databases (internal/origins) and the research-scanner
// lists that hold it (internal/scanners) — as the databases in service say
// when the packet is observed. The origin is stored with the record, so a
// later database update changes only the records observed after it.
//
// Lookups cost: a source seen recently is found in a small per-source
// cache; a new source walks each database's search tree and the lists'
// sorted ranges, and the decoded database record is cached by its place in
// the file (addresses of one network share it). Nothing is allocated per
// record; a database record is decoded once per generation of the
// databases.
package enrich

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nightjar-telescope/nightjar/internal/origins"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/scanners"
)

// Sources are where an Enricher looks: either may be nil.
type Sources struct {
	Origins  *origins.Watcher
	Scanners *scanners.Watcher
}

// Stats counts an Enricher's work; it may be read while the Enricher runs.
type Stats struct {
	Records atomic.Uint64 // enriched
	Misses  atomic.Uint64 // sources not in the per-source cache
	Decoded atomic.Uint64 // database records decoded
	// Errors counts the sources whose database record could not be read
	// (a corrupt file): their records are kept with no country or
	// network, and LastError says why.
	Errors    atomic.Uint64
	LastError atomic.Pointer[string]
}

// Enricher is the enrich stage of one pipeline (a pipeline.Enricher). It
// belongs to that pipeline's goroutine; the Sources it reads are shared.
type Enricher struct {
	src   Sources
	stats *Stats

	// The per-source cache, direct-mapped, valid for one generation of
	// each source (a reload empties it).
	cache      []entry
	shift      uint // 64 - log2(len(cache))
	geoGen     uint64
	lists      *scanners.Set
	decoded    map[origins.Location]record.Origin // by database record, this generation
	decodedMax int                                // the most records decoded kept; then decoded starts afresh
	geoValid   bool                               // geoGen and decoded are of the databases in service
}

type entry struct {
	addr   record.Addr
	origin record.Origin
	valid  bool
}

// DefaultCacheSources is the per-source cache's size.
const DefaultCacheSources = 1 << 14

// New returns an Enricher with a cache of cacheSources (rounded up to a
// power of two; DefaultCacheSources when 0) that counts into stats (shared
// by the Enrichers of one service; nil: its own). It keeps as many decoded
// database records, so that its memory is bounded whatever the database
// (a City database holds millions): about 130 bytes per cached source.
func New(src Sources, cacheSources int, stats *Stats) *Enricher {
	if cacheSources <= 0 {
		cacheSources = DefaultCacheSources
	}
	size, bits := 1, uint(0)
	for size < cacheSources {
		size <<= 1
		bits++
	}
	if stats == nil {
		stats = &Stats{}
	}
	return &Enricher{src: src, stats: stats, cache: make([]entry, size), shift: 64 - bits,
		decoded: map[origins.Location]record.Origin{}, decodedMax: size}
}

// Stats returns the counts.
func (e *Enricher) Stats() *Stats { return e.stats }

// Enrich implements pipeline.Enricher: it sets the Origin of every record.
func (e *Enricher) Enrich(recs []record.Record, _ []int32) {
	if len(recs) == 0 {
		return
	}
	e.stats.Records.Add(uint64(len(recs)))
	if e.src.Scanners != nil {
		if cur := e.src.Scanners.Current(); cur != e.lists {
			e.lists = cur
			e.reset()
		}
	}
	if e.src.Origins == nil {
		e.enrich(recs, nil)
		return
	}
	e.src.Origins.With(func(set *origins.Set, gen uint64) {
		if !e.geoValid || gen != e.geoGen {
			e.geoGen, e.geoValid = gen, true
			clear(e.decoded)
			e.reset()
		}
		e.enrich(recs, set)
	})
}

// slot returns the cache slot of a: Fibonacci hashing of the address.
func (e *Enricher) slot(a record.Addr) uint64 {
	hi, lo := a.Halves()
	return ((hi ^ lo) * 0x9E3779B97F4A7C15) >> e.shift
}

// reset empties the per-source cache.
func (e *Enricher) reset() { clear(e.cache) }

func (e *Enricher) enrich(recs []record.Record, set *origins.Set) {
	var misses uint64
	for i := range recs {
		r := &recs[i]
		slot := &e.cache[e.slot(r.Src)]
		if slot.valid && slot.addr == r.Src {
			r.Origin = slot.origin
			continue
		}
		misses++
		o := e.lookup(r.Src, set)
		*slot = entry{addr: r.Src, origin: o, valid: true}
		r.Origin = o
	}
	e.stats.Misses.Add(misses)
}

// lookup finds the origin of a source that is not in the cache.
func (e *Enricher) lookup(a record.Addr, set *origins.Set) record.Origin {
	var o record.Origin
	ip := a.Netip()
	if set != nil {
		loc, err := set.Locate(ip)
		if err == nil {
			var ok bool
			if o, ok = e.decoded[loc]; !ok {
				o, err = e.decode(set, loc)
			}
		}
		if err != nil {
			e.stats.Errors.Add(1)
			msg := err.Error()
			e.stats.LastError.Store(&msg)
			o = record.Origin{}
		}
	}
	if e.lists != nil {
		o.Scanner = e.lists.Label(ip)
	}
	return o
}

// decode reads a database record and keeps it for this generation.
func (e *Enricher) decode(set *origins.Set, loc origins.Location) (record.Origin, error) {
	found, err := set.Decode(loc)
	if err != nil {
		return record.Origin{}, err
	}
	e.stats.Decoded.Add(1)
	o := record.Origin{Country: record.CountryOf(found.Country), ASN: found.ASN}
	if found.ASN != 0 {
		o.Org = record.Intern(found.Org)
	}
	if len(e.decoded) >= e.decodedMax {
		clear(e.decoded) // then allocation-free again once it fills
	}
	e.decoded[loc] = o
	return o, nil
}

// Metrics returns the Prometheus metrics of the counts (the collector's
// /metrics).
func (s *Stats) Metrics() []prometheus.Collector {
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	return []prometheus.Collector{
		counter("nightjar_enrich_records_total", "Records given a country, a network and scanner labels by the enrich stage.", &s.Records),
		counter("nightjar_enrich_source_misses_total", "Records whose source was not in the per-source cache and was looked up.", &s.Misses),
		counter("nightjar_enrich_decoded_total", "GeoIP/ASN database records decoded.", &s.Decoded),
		counter("nightjar_enrich_errors_total", "Sources whose GeoIP/ASN record could not be read: stored without country or network.", &s.Errors),
	}
}
