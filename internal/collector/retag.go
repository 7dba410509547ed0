package collector

import (
	"github.com/nightjar-telescope/nightjar/internal/pipeline"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// retagSources bounds the unicornscan state of one stream: 16,384
// sources, 512 KiB, so that 200 connected sensors hold 100 MiB at most.
const retagSources = 1 << 14

// retagger tags a sensor's records again with the collector's rules, in
// place, keeping the unicornscan state of the stream's sources from one
// batch to the next (a reconnect starts afresh), and runs the enrich
// stage. It belongs to the stream's goroutine.
type retagger struct {
	path *pipeline.Pipeline
	// During retag: the records being tagged again, how many are done,
	// and how many had other stateless tags from the sensor.
	dst     []record.Record
	next    int
	changed int
}

// newRetagger returns a retagger whose pipeline runs the enrichers that
// enrichers returns (nil: none).
func newRetagger(enrichers func() []pipeline.Enricher) *retagger {
	t := &retagger{}
	var stage []pipeline.Enricher
	if enrichers != nil {
		stage = enrichers()
	}
	// Cannot fail: the attributor and the sink are given.
	t.path, _ = pipeline.New(pipeline.Config{Attributor: pipeline.OneSensor(0), Sink: t, Sources: retagSources, Enrichers: stage})
	return t
}

// retag tags recs again and returns how many records the sensor had given
// other stateless tags: a sign that it runs other fingerprint rules. (Its
// unicornscan tags are left out of the comparison: the sensor keeps that
// state per capture socket, the collector per stream.)
func (t *retagger) retag(recs []record.Record) (changed int) {
	t.dst, t.next, t.changed = recs, 0, 0
	for i := range recs {
		t.path.Record(&recs[i]) // always Kept: OneSensor
		if t.path.Full() {
			t.flush()
		}
	}
	t.flush()
	t.dst = nil
	return t.changed
}

// flush cannot fail: Write does not.
func (t *retagger) flush() { _ = t.path.Flush() }

// Write is the pipeline's sink: the records come back in order, and go
// back where they came from.
func (t *retagger) Write(recs []record.Record, _ []int32) error {
	dst := t.dst[t.next : t.next+len(recs)]
	for i := range recs {
		if (recs[i].Tags^dst[i].Tags)&^record.TagUnicornscan != 0 {
			t.changed++
		}
	}
	copy(dst, recs)
	t.next += len(recs)
	return nil
}
