// Package lifecycle starts a process's components in order and stops them
// in reverse, so that a command says once what it runs and in which order
// — the store before the collector that writes to it, the collector
// before the sensors that dial it — and every exit path, a failed start,
// Ctrl-C or a component that fails while running, stops the same way.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Component is a part of a process with one lifecycle: its constructor
// does no I/O, Start begins its work (and returns once it is running),
// Stop ends it and releases what it holds.
type Component interface {
	Start(ctx context.Context) error
	Stop() error
}

// Failer is a Component that can fail while running; Failed delivers the
// error (once) and makes Run stop everything.
type Failer interface {
	Failed() <-chan error
}

// Funcs makes a Component of two functions; either may be nil.
type Funcs struct {
	OnStart func(ctx context.Context) error
	OnStop  func() error
}

// Start calls OnStart.
func (f Funcs) Start(ctx context.Context) error {
	if f.OnStart == nil {
		return nil
	}
	return f.OnStart(ctx)
}

// Stop calls OnStop.
func (f Funcs) Stop() error {
	if f.OnStop == nil {
		return nil
	}
	return f.OnStop()
}

// Runner runs components. Add them in start order.
type Runner struct {
	log        *slog.Logger
	components []named
	started    int
}

type named struct {
	name string
	c    Component
}

// New returns an empty Runner that logs each start and stop to logger.
func New(logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{log: logger}
}

// Add appends a component, started after those added before it and
// stopped before them.
func (r *Runner) Add(name string, c Component) {
	r.components = append(r.components, named{name, c})
}

// Start starts the components in order. When one fails, those already
// started are stopped in reverse and the error names the one that failed.
func (r *Runner) Start(ctx context.Context) error {
	for r.started < len(r.components) {
		n := r.components[r.started]
		began := time.Now()
		if err := n.c.Start(ctx); err != nil {
			err = fmt.Errorf("start %s: %w", n.name, err)
			return errors.Join(err, r.Stop())
		}
		r.log.Debug("started", "component", n.name, "seconds", time.Since(began).Seconds())
		r.started++
	}
	return nil
}

// Stop stops the started components in reverse order, each once, and
// returns their errors joined.
func (r *Runner) Stop() error {
	var errs []error
	for r.started > 0 {
		r.started--
		n := r.components[r.started]
		began := time.Now()
		if err := n.c.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", n.name, err))
			continue
		}
		r.log.Debug("stopped", "component", n.name, "seconds", time.Since(began).Seconds())
	}
	return errors.Join(errs...)
}

// Run starts the components, calls started (when not nil), waits until
// ctx is done or a Failer fails, and stops them in reverse. It returns the
// start error, or the failure joined with the errors of stopping; a
// cancelled ctx alone is not an error.
func (r *Runner) Run(ctx context.Context, started func()) error {
	if err := r.Start(ctx); err != nil {
		return err
	}
	if started != nil {
		started()
	}
	err := r.Wait(ctx)
	return errors.Join(err, r.Stop())
}

// Wait waits until ctx is done (nil) or a started Failer fails (its
// error, naming it).
func (r *Runner) Wait(ctx context.Context) error {
	failed := make(chan error, len(r.components))
	done := make(chan struct{})
	defer close(done)
	for _, n := range r.components[:r.started] {
		if f, ok := n.c.(Failer); ok {
			go func() {
				select {
				case err := <-f.Failed():
					if err != nil {
						failed <- fmt.Errorf("%s: %w", n.name, err)
					}
				case <-done:
				}
			}()
		}
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-failed:
		r.log.Error("component failed; stopping", "err", err)
		return err
	}
}
