package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Source is what the engine reads: the hourly counts, the sensors and
// their health.
type Source interface {
	Activity
	DailyQuestions
	Sensors(ctx context.Context) ([]store.Sensor, error)
	Health(ctx context.Context) ([]store.Health, error)
}

// Deps are the engine's dependencies.
type Deps struct {
	Source Source
	Book   Book
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Research, when set, says whether a finding is the work of listed
	// research scanners; such alerts are info, never malicious alone.
	Research func(ctx context.Context, f Finding) (bool, error)
	// Changed, when set, is called after each look with the alerts it
	// wrote (the notifier's metrics, a test).
	Changed func(writes []store.AlertWrite)
}

// Engine runs the detectors live: every Interval it looks at the hours
// completed since its last look, and at the current hour so far, and
// applies the findings to the Book.
type Engine struct {
	log  *slog.Logger
	cfg  Config
	deps Deps
	life *Lifecycle

	mu     sync.Mutex // one Step at a time
	win    *Window
	done   time.Time // the start of the last whole hour looked at
	det    *detector
	fleet  string // the sensors det was made for
	days   *daily
	health map[string]store.Health

	cancel context.CancelFunc
	wg     sync.WaitGroup
	failed chan error
}

// NewEngine returns an engine; it does no I/O until Start or Step. cfg
// must have been validated.
func NewEngine(log *slog.Logger, cfg Config, deps Deps) *Engine {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	e := &Engine{log: log, cfg: cfg, deps: deps, health: map[string]store.Health{}, failed: make(chan error, 1)}
	e.life = NewLifecycle(deps.Book, &e.cfg, cfg.Receivers)
	e.win = NewWindow(deps.Source, span(&e.cfg))
	e.days = newDaily(&e.cfg, deps.Source)
	return e
}

// span is how much history the detectors need: the weeks of the
// baseline, and a day more for the top of a day against the week before.
func span(cfg *Config) time.Duration {
	return time.Duration(cfg.Weeks)*7*24*time.Hour + 25*time.Hour
}

// Lifecycle returns the engine's lifecycle, for a person's acknowledging
// and resolving.
func (e *Engine) Lifecycle() *Lifecycle { return e.life }

// Start begins looking every Interval; the first look is at once.
func (e *Engine) Start(ctx context.Context) error {
	ctx, e.cancel = context.WithCancel(ctx)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(e.cfg.Interval)
		defer t.Stop()
		for {
			if err := e.Step(ctx); err != nil && ctx.Err() == nil {
				// A store that fails once (busy, a rollup running) is
				// tried again at the next look; the error is logged.
				e.log.Warn("alerts: look failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Stop ends the looking and waits for the last look to end.
func (e *Engine) Stop() error {
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
	return nil
}

// minFrac is the least share of an hour a live look scales the baseline
// by: in the first minutes of an hour the counts are too few to say
// anything against a baseline scaled further down.
const minFrac = 1.0 / 12

// Step is one look at instant now (the engine's clock): the whole hours
// since the last look (at most the last ResolveAfter of them on the first
// look: a daemon that starts does not replay the past — that is what
// Backtest is for), then the hour so far, then the sensors' health.
func (e *Engine) Step(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.deps.Now().UTC()
	cur := now.Truncate(time.Hour)
	first := e.done.Add(time.Hour)
	if e.done.IsZero() || first.Before(cur.Add(-e.cfg.ResolveAfter)) {
		first = cur.Add(-e.cfg.ResolveAfter)
	}
	sensors, err := e.deps.Source.Sensors(ctx)
	if err != nil {
		return fmt.Errorf("alerts: sensors: %w", err)
	}
	if err := e.win.Load(ctx, first.Add(-span(&e.cfg)), cur.Add(time.Hour)); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	det := e.detector(sensors)
	det.refresh(cur.Add(-reread))
	var writes []store.AlertWrite
	look := func(h time.Time, frac float64, extra []Finding) error {
		fs, err := e.research(ctx, append(det.evaluate(h, frac), extra...))
		if err != nil {
			return err
		}
		w, err := e.life.Observe(ctx, now, h, fs)
		writes = append(writes, w...)
		return err
	}
	for h := first; h.Before(cur); h = h.Add(time.Hour) {
		days, err := e.days.at(ctx, h)
		if err != nil {
			return err
		}
		if err := look(h, 1, days); err != nil {
			return err
		}
		e.done = h
	}
	health, err := e.deps.Source.Health(ctx)
	if err != nil {
		return fmt.Errorf("alerts: health: %w", err)
	}
	frac := max(float64(now.Sub(cur))/float64(time.Hour), minFrac)
	if err := look(cur, frac, e.healthFindings(cur, now, health)); err != nil {
		return err
	}
	if e.deps.Changed != nil && len(writes) > 0 {
		e.deps.Changed(writes)
	}
	for _, w := range writes {
		if w.Notify != "" {
			e.log.Info("alert "+w.Notify, "id", w.Alert.ID, "detector", w.Alert.Detector, "scope", w.Alert.Scope.String(), "severity", w.Alert.Severity, "summary", w.Alert.Summary)
		}
	}
	return nil
}

// detector returns the detector of the sensors, made anew when they
// changed (one enrolled, or its first packet), keeping what it noted.
func (e *Engine) detector(sensors []store.Sensor) *detector {
	var key strings.Builder // what the detector is made of: not LastSeen, which moves every minute
	for _, sen := range sensors {
		fmt.Fprintf(&key, "%d %s %s %d\n", sen.ID, sen.Name, sen.Group, sen.FirstSeen.Unix())
	}
	if e.det == nil || key.String() != e.fleet {
		det := newDetector(&e.cfg, e.win, sensors)
		if e.det != nil {
			det.alerted = e.det.alerted
			det.runs = map[runKey]run{} // keyed by the old owners
		}
		e.det, e.fleet = det, key.String()
	}
	return e.det
}

// research marks the findings of research scanners.
func (e *Engine) research(ctx context.Context, fs []Finding) ([]Finding, error) {
	return markResearch(ctx, e.deps.Research, fs)
}

func markResearch(ctx context.Context, research func(context.Context, Finding) (bool, error), fs []Finding) ([]Finding, error) {
	out := fs[:0]
	for _, f := range fs {
		if research != nil && f.Scope.Port != "" {
			ok, err := research(ctx, f)
			if err != nil {
				return nil, fmt.Errorf("alerts: research scanners of %s: %w", f.key(), err)
			}
			if ok {
				f.Research = true
				f.Severity = store.SeverityInfo
				f.Summary += " — research scanners"
			}
		}
		if f.FewSources && !f.Research {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// healthFindings compares each sensor's health report with the one
// before: a sensor that stopped reporting, that drops packets, whose
// spool grows.
func (e *Engine) healthFindings(h, now time.Time, reports []store.Health) []Finding {
	var out []Finding
	th := e.cfg.Thresholds
	for _, r := range reports {
		sc := store.Scope{Sensor: r.Sensor}
		prev, had := e.health[r.Sensor]
		e.health[r.Sensor] = r
		if age := now.Sub(r.Received); age > th.HealthSilence {
			if _, on := e.cfg.thresholds(DetectSensorSilent, sc); on {
				out = append(out, Finding{Detector: DetectSensorSilent, Scope: sc, Hour: h, Severity: store.SeverityCritical,
					Summary:  fmt.Sprintf("%s has not reported for %s", r.Sensor, age.Truncate(time.Second)),
					Evidence: store.Evidence{Measure: "seconds since the last health report", Hour: h, Observed: age.Seconds(), Baseline: th.HealthSilence.Seconds(), Method: "health reports"}})
			}
		}
		if !had || r.Received.Equal(prev.Received) || r.PacketsSeen < prev.PacketsSeen {
			continue // no report since, or the sensor restarted: counters began again
		}
		seen, drops := r.PacketsSeen-prev.PacketsSeen, r.KernelDrops-prev.KernelDrops
		batches := r.DroppedBatches - prev.DroppedBatches
		if _, on := e.cfg.thresholds(DetectSensorDrops, sc); on && r.KernelDrops >= prev.KernelDrops && r.DroppedBatches >= prev.DroppedBatches {
			if share := float64(drops) / float64(max(seen+drops, 1)); share >= th.DropShare || batches > 0 {
				out = append(out, Finding{Detector: DetectSensorDrops, Scope: sc, Hour: h, Severity: dropSeverity(batches),
					Summary: fmt.Sprintf("%s dropped %s packets in the kernel (%.1f %%) and %s batches (spool full) since its last report",
						r.Sensor, count(float64(drops)), 100*share, count(float64(batches))),
					Evidence: store.Evidence{Measure: "share of packets dropped", Hour: h, Observed: share, Baseline: th.DropShare, Method: "health reports"}})
			}
		}
		if _, on := e.cfg.thresholds(DetectSpoolBacklog, sc); on && r.SpoolBatches >= th.BacklogBatches && r.SpoolBatches > prev.SpoolBatches {
			out = append(out, Finding{Detector: DetectSpoolBacklog, Scope: sc, Hour: h, Severity: store.SeverityWarning,
				Summary: fmt.Sprintf("%s's spool grows: %s batches waiting (from %s), the oldest for %s",
					r.Sensor, count(float64(r.SpoolBatches)), count(float64(prev.SpoolBatches)), r.Lag.Truncate(time.Second)),
				Evidence: store.Evidence{Measure: "batches in the spool", Hour: h, Observed: float64(r.SpoolBatches), Baseline: float64(prev.SpoolBatches), Method: "health reports"}})
		}
	}
	return out
}

func dropSeverity(batches uint64) store.Severity {
	if batches > 0 {
		return store.SeverityCritical // records are lost for good
	}
	return store.SeverityWarning
}

// backtestLooks are when in each hour Backtest looks at the hour so far,
// as the live engine does every minute: a change is noticed within half
// an hour of when it would be live, not only at the hour's end. (Looks at
// 15, 30 and 45 minutes took 3.3 times as long as none.)
var backtestLooks = []time.Duration{30 * time.Minute}

// Backtest runs the detectors over the whole hours of [from, to) as if
// live — at each of backtestLooks into every hour (reading its raw
// records: the period's must be retained), and at its end — into a
// MemoryBook, and returns every alert that would have been written,
// oldest start first. research, when set,
// is the engine's research test (Deps.Research); progress, when set, is
// called after each hour. Health is not in the store's history, so only
// its rollups' silences are found.
func Backtest(ctx context.Context, cfg Config, src Source, research func(context.Context, Finding) (bool, error),
	from, to time.Time, progress func(done, total int)) ([]store.Alert, error) {
	from, to = from.UTC().Truncate(time.Hour), to.UTC().Truncate(time.Hour)
	if !from.Before(to) {
		return nil, errors.New("backtest: the period is empty")
	}
	sensors, err := src.Sensors(ctx)
	if err != nil {
		return nil, fmt.Errorf("backtest: sensors: %w", err)
	}
	book := &MemoryBook{}
	life := NewLifecycle(book, &cfg, nil)
	win := NewWindow(src, span(&cfg)+time.Duration(to.Sub(from)))
	if err := win.Load(ctx, from.Add(-span(&cfg)), to); err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	det := newDetector(&cfg, win, sensors)
	days := newDaily(&cfg, src)
	total := int(to.Sub(from) / time.Hour)
	look := func(h, now time.Time, fs []Finding) error {
		fs, err := markResearch(ctx, research, fs)
		if err != nil {
			return err
		}
		if _, err := life.Observe(ctx, now, h, fs); err != nil {
			return fmt.Errorf("backtest at %s: %w", now.Format(time.RFC3339), err)
		}
		return nil
	}
	for i, h := 0, from; h.Before(to); i, h = i+1, h.Add(time.Hour) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, q := range backtestLooks {
			part, err := win.part(ctx, h, h.Add(q))
			if err != nil {
				return nil, fmt.Errorf("backtest at %s: %w", h.Add(q).Format(time.RFC3339), err)
			}
			if err := look(h, h.Add(q), det.evaluatePart(part, float64(q)/float64(time.Hour))); err != nil {
				return nil, err
			}
		}
		daily, err := days.at(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("backtest at %s: %w", h.Format(time.RFC3339), err)
		}
		if err := look(h, h.Add(time.Hour), append(det.evaluate(h, 1), daily...)); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(i+1, total)
		}
	}
	alerts, err := book.Alerts(ctx, store.AlertQuery{})
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(alerts)-1; i < j; i, j = i+1, j-1 {
		alerts[i], alerts[j] = alerts[j], alerts[i]
	}
	return alerts, nil
}
