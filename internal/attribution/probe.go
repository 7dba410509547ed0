package attribution

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/probe"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Sources is what ProbeSources asks for its targets.
type Sources interface {
	TopSources(ctx context.Context, q store.TopSourcesQuery) ([]store.Source, error)
}

// Prober fetches banners from targets (probe.Prober).
type Prober interface {
	Run(ctx context.Context, targets []netip.Addr, emit func(*banner.Record) error) (probe.Stats, error)
}

// ProbeResult is what a probe of a period's sources did.
type ProbeResult struct {
	Period period.Period
	// Sources were the period's top sources asked for; Research of them
	// were on a research-scanner list, and not probed.
	Sources, Research int
	Probe             probe.Stats
	Attribution       Stats
}

// String says it in a line for the operator.
func (r ProbeResult) String() string {
	var outcomes []string
	for o, n := range r.Probe.Outcomes {
		outcomes = append(outcomes, fmt.Sprintf("%s %d", o, n))
	}
	slices.Sort(outcomes)
	return fmt.Sprintf("probed %d of the %d top sources of %s (%d on research-scanner lists, %d not global, %d excluded, %d over max_targets): "+
		"%d requests (%s), %d banners, %d matched a signature; %d addresses attributed, %d with conflicting evidence",
		r.Probe.Probed, r.Sources, r.Period, r.Research, r.Probe.NotGlobal, r.Probe.Excluded, r.Probe.OverLimit,
		r.Probe.Requests, strings.Join(outcomes, ", "), r.Probe.Records, r.Attribution.Matched, r.Attribution.Attributed, r.Attribution.Conflicts)
}

// ProbeSources probes the top n sources of a period by packets — but
// those on research-scanner lists, which are not devices to identify —
// and attributes what they answer.
func ProbeSources(ctx context.Context, src Sources, pr Prober, at *Attributor, p period.Period, n int) (ProbeResult, error) {
	res := ProbeResult{Period: p}
	top, err := src.TopSources(ctx, store.TopSourcesQuery{Period: p, N: n})
	if err != nil {
		return res, err
	}
	res.Sources = len(top)
	var targets []netip.Addr
	for _, s := range top {
		if s.Scanner != "" {
			res.Research++
			continue
		}
		a, err := netip.ParseAddr(s.IP)
		if err != nil {
			return res, fmt.Errorf("top source %q: %w", s.IP, err)
		}
		targets = append(targets, a)
	}
	res.Probe, err = pr.Run(ctx, targets, func(rec *banner.Record) error { return at.Add(ctx, rec, "") })
	if ferr := at.Flush(ctx); err == nil {
		err = ferr
	}
	res.Attribution = at.Stats()
	return res, err
}
