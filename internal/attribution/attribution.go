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
const FlushEvidence = 20_000

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
// not safe for concurrent use.
type Attributor struct {
	st      Store
	sig     *devices.Signatures
	now     func() time.Time
	pending []store.DeviceEvidence
	touched map[netip.Addr]bool
	matches []devices.Match // scratch
	stats   Stats
}

// New returns an Attributor writing to st; now stamps the evidence's
// import and the attributions.
func New(st Store, sig *devices.Signatures, now func() time.Time) *Attributor {
	return &Attributor{st: st, sig: sig, now: now, touched: map[netip.Addr]bool{}}
}

// Stats returns the counts so far.
func (a *Attributor) Stats() Stats { return a.stats }

// Add matches one banner read from file ("" for the probe) and keeps its
// matches as evidence; every FlushEvidence matches it flushes.
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
		a.pending = append(a.pending, store.DeviceEvidence{
			Addr: addr, Port: rec.Port, Transport: rec.Transport.String(), Seen: rec.Time.UTC(), Source: rec.Source, File: file,
			Rule: m.Rule, Field: m.Field.String(), Value: m.Value,
			Vendor: m.Vendor, Model: m.Model, Kind: m.Kind, Firmware: m.Firmware, Confidence: m.Confidence, Imported: now,
		})
	}
	a.touched[addr] = true
	if len(a.pending) >= FlushEvidence {
		return a.Flush(ctx)
	}
	return nil
}

// Flush writes the evidence held, then attributes again every address
// that gained some, from all of its stored evidence.
func (a *Attributor) Flush(ctx context.Context) error {
	if len(a.pending) == 0 {
		return nil
	}
	n, err := a.st.PutDeviceEvidence(ctx, a.pending)
	if err != nil {
		return err
	}
	a.stats.Evidence += n
	a.pending = a.pending[:0]
	addrs := make([]netip.Addr, 0, len(a.touched))
	for addr := range a.touched {
		addrs = append(addrs, addr)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	clear(a.touched)
	devs, err := Attribute(ctx, a.st, addrs, a.now().UTC())
	if err != nil {
		return err
	}
	for _, d := range devs {
		if d.Vendor != "" {
			a.stats.Attributed++
		}
		if d.Conflict {
			a.stats.Conflicts++
		}
	}
	return a.st.PutDevices(ctx, devs)
}

// Attribute decides the device of each address from its stored evidence
// (devices.Attribute), stamped at now; an address whose evidence names no
// device gets a Device with an empty Vendor, which PutDevices deletes.
func Attribute(ctx context.Context, st Store, addrs []netip.Addr, now time.Time) ([]store.Device, error) {
	ev, err := st.DeviceEvidence(ctx, addrs)
	if err != nil {
		return nil, err
	}
	byAddr := map[netip.Addr][]devices.Match{}
	for _, e := range ev {
		field, _ := banner.ParseField(e.Field)
		byAddr[e.Addr] = append(byAddr[e.Addr], devices.Match{Rule: e.Rule, Vendor: e.Vendor, Model: e.Model, Kind: e.Kind,
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
	return out, nil
}
