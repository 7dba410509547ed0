// Package attribution turns banners into the store's device evidence and
// attributions: each banner is matched against the signatures (package
// devices), every match is stored as evidence of its address, and the
// addresses that gained evidence are attributed again from all of theirs —
// evidence imported from a Shodan export today and a zgrab2 scan
// tomorrow decide together. `nightjar devices import` and `devices probe`
// feed it; memory stays bounded by flushing every FlushEvidence matches.
package attribution

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/devices"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Store is what an Attributor writes to and reads back.
type Store interface {
	PutDeviceEvidence(ctx context.Context, ev []store.DeviceEvidence) (int, error)
	DeviceEvidence(ctx context.Context, addrs []netip.Addr) ([]store.DeviceEvidence, error)
	PutDevices(ctx context.Context, devs []store.Device) error
}

// FlushEvidence is how many matches an Attributor holds before it writes
// them and attributes their addresses.
const FlushEvidence = 100_000

// Stats counts what an Attributor did.
type Stats struct {
	// Banners were added; Matched of them matched at least one rule.
	Banners, Matched int
	// Evidence rows were new to the store (a banner imported twice is
	// evidence once).
	Evidence int
	// Attributed addresses were (re)attributed; Conflicts of them have
	// conflicting evidence.
	Attributed, Conflicts int
}

// Attributor matches banners and keeps the store's attributions. It is
// not safe for concurrent use. Matching runs in the caller's goroutine;
// each full batch of evidence is written by one writer goroutine, in
// order, while the next batch is matched — at most two batches are held.
type Attributor struct {
	st      Store
	sig     *devices.Signatures
	now     func() time.Time
	pending batch
	// batchSize is FlushEvidence (tests make batches small).
	batchSize int
	matches   []devices.Match // scratch
	stats     Stats
	// batches go to the writer; done reports each batch's outcome.
	batches  chan batch
	done     chan result
	inFlight bool
}

// batch is a batch of evidence and the addresses it touches.
type batch struct {
	ev      []store.DeviceEvidence
	touched map[netip.Addr]bool
}

// result is what writing a batch did.
type result struct {
	evidence, attributed, conflicts int
	err                             error
}

// New returns an Attributor writing to st; now stamps the evidence's
// import and the attributions.
func New(st Store, sig *devices.Signatures, now func() time.Time) *Attributor {
	return &Attributor{st: st, sig: sig, now: now, batchSize: FlushEvidence, pending: batch{touched: map[netip.Addr]bool{}}}
}

// Stats returns the counts so far: the banners added and matched, and
// what the batches written so far stored and attributed.
func (a *Attributor) Stats() Stats { return a.stats }

// Add matches one banner read from file ("" for the probe) and keeps its
// matches as evidence; every FlushEvidence matches the batch goes to the
// writer (Add waits for the previous batch to be written first, and
// returns its error).
func (a *Attributor) Add(ctx context.Context, rec *banner.Record, file string) error {
	if !rec.Addr.IsValid() {
		return fmt.Errorf("banner without an address (%s, %s)", rec.Source, file)
	}
	a.stats.Banners++
	a.matches = a.sig.Match(rec, a.matches[:0])
	if len(a.matches) == 0 {
		return nil
	}
	a.stats.Matched++
	addr := rec.Addr.Unmap()
	now := a.now().UTC()
	for _, m := range a.matches {
		a.pending.ev = append(a.pending.ev, store.DeviceEvidence{
			Addr: addr, Port: rec.Port, Transport: rec.Transport.String(), Seen: rec.Time.UTC(), Source: rec.Source, File: file,
			Rule: m.Rule, Field: m.Field.String(), Value: m.Value,
			Vendor: m.Vendor, Model: m.Model, Kind: m.Kind, Firmware: m.Firmware, Confidence: m.Confidence, Imported: now,
		})
	}
	a.pending.touched[addr] = true
	if len(a.pending.ev) >= a.batchSize {
		return a.send(ctx)
	}
	return nil
}

// send hands the pending batch to the writer, after the previous one is
// written.
func (a *Attributor) send(ctx context.Context) error {
	if err := a.wait(); err != nil {
		return err
	}
	if a.batches == nil {
		a.batches, a.done = make(chan batch), make(chan result)
		go a.writer(ctx)
	}
	a.batches <- a.pending
	a.inFlight = true
	// Sized as the last: a batch's slice and map grow once, not by
	// doubling (half of an import's allocations were those copies).
	a.pending = batch{ev: make([]store.DeviceEvidence, 0, cap(a.pending.ev)), touched: make(map[netip.Addr]bool, len(a.pending.touched))}
	return nil
}

// wait waits for the batch in flight, if any, and counts it.
func (a *Attributor) wait() error {
	if !a.inFlight {
		return nil
	}
	r := <-a.done
	a.inFlight = false
	a.stats.Evidence += r.evidence
	a.stats.Attributed += r.attributed
	a.stats.Conflicts += r.conflicts
	return r.err
}

// writer writes the batches it is given, one at a time, until the channel
// is closed.
func (a *Attributor) writer(ctx context.Context) {
	for b := range a.batches {
		a.done <- a.write(ctx, b)
	}
}

// Flush writes every batch held and waits until they are written; the
// Attributor may be used again afterwards.
func (a *Attributor) Flush(ctx context.Context) error {
	if len(a.pending.ev) > 0 {
		if err := a.send(ctx); err != nil {
			a.stop()
			return err
		}
	}
	err := a.wait()
	a.stop()
	return err
}

// stop ends the writer goroutine.
func (a *Attributor) stop() {
	if a.batches != nil {
		close(a.batches)
		a.batches = nil
	}
}

// write stores a batch's evidence, then attributes again every address
// it touches from all of its evidence: what was stored before (read back
// for the addresses that had some) and what the batch adds.
func (a *Attributor) write(ctx context.Context, b batch) result {
	addrs := make([]netip.Addr, 0, len(b.touched))
	for addr := range b.touched {
		addrs = append(addrs, addr)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	stored, err := a.st.DeviceEvidence(ctx, addrs)
	if err != nil {
		return result{err: err}
	}
	// The attribution (Go) runs while the store writes the evidence
	// (DuckDB); both only read the batch.
	var devs []store.Device
	attributed := make(chan struct{})
	go func() {
		defer close(attributed)
		devs = Attribute(addrs, append(stored, b.ev...), a.now().UTC())
	}()
	n, err := a.st.PutDeviceEvidence(ctx, b.ev)
	<-attributed
	if err != nil {
		return result{err: err}
	}
	r := result{evidence: n}
	for _, d := range devs {
		if d.Vendor != "" {
			r.attributed++
		}
		if d.Conflict {
			r.conflicts++
		}
	}
	r.err = a.st.PutDevices(ctx, devs)
	return r
}

// key identifies a piece of evidence as the store does: the same banner
// imported twice is one.
type key struct {
	addr                    netip.Addr
	port                    uint16
	transport, source, rule string
	seen                    time.Time
}

// Attribute decides the device of each address from its evidence
// (devices.Attribute, each piece counted once), stamped at now; an address
// whose evidence names no device gets a Device with an empty Vendor,
// which PutDevices deletes.
func Attribute(addrs []netip.Addr, ev []store.DeviceEvidence, now time.Time) []store.Device {
	byAddr := make(map[netip.Addr][]devices.Match, len(addrs))
	seen := make(map[key]bool, len(ev))
	for _, e := range ev {
		k := key{e.Addr.Unmap(), e.Port, e.Transport, e.Source, e.Rule, e.Seen.UTC()}
		if seen[k] {
			continue
		}
		seen[k] = true
		field, _ := banner.ParseField(e.Field)
		byAddr[k.addr] = append(byAddr[k.addr], devices.Match{Rule: e.Rule, Vendor: e.Vendor, Model: e.Model, Kind: e.Kind,
			Firmware: e.Firmware, Confidence: e.Confidence, Field: field, Value: e.Value})
	}
	out := make([]store.Device, 0, len(addrs))
	for _, addr := range addrs {
		ms := byAddr[addr]
		att := devices.Attribute(ms)
		d := store.Device{Addr: addr, Vendor: att.Vendor, Model: att.Model, Kind: att.Kind, Firmware: att.Firmware,
			Confidence: att.Confidence, Rule: att.Rule, Conflict: att.Conflict, Alternatives: []string{}, Evidence: len(ms), Attributed: now}
		if released, ok := devices.ReleaseDate(att.Vendor, att.Model, att.Firmware); ok && att.Firmware != "" {
			d.Released = released
		}
		for _, alt := range att.Alternatives {
			d.Alternatives = append(d.Alternatives, store.ModelLabel(alt.Vendor, alt.Model))
		}
		out = append(out, d)
	}
	return out
}
