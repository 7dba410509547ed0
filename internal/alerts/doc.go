// Package alerts notices unusual change in a telescope's traffic, keeps
// each change as one alert through its lifecycle, and says why.
//
// Detectors (detect.go) read the hourly counts of the store
// (store.ActivityQuestions) — so they work on every backend, for live
// data and for any past period alike — through a Window (window.go) that
// holds the last weeks of hours in memory. Each hour they compare every
// sensor × port, group × port and fleet × port, in packets and in
// distinct sources, with a baseline that knows the daily and the weekly
// cycle: the median of the same hour of the previous weeks, with a robust
// spread (baseline.go; BENCHMARKS.md gives the measurements behind the
// choice). A change is then placed: seen by most sensors it is one fleet
// alert; by one sensor, or by the sensors of one group, while the others
// are quiet on the port, it is a local change, with the others'
// figures as evidence. Beside the port surges: a new port campaign, a
// port entering an owner's top N, the mirai tag spreading to a new port,
// a surge of a tag (backscatter: a DoS victim), a silent sensor.
//
// The Engine (engine.go) turns each hour's findings into alerts through a
// Book (book.go): one alert per detector and scope while it lasts,
// updated rather than repeated, resolved when quiet for a few hours,
// re-opened when it comes back, muted by silences; every change that
// matters is queued for the receivers with the alert, in the store
// (package alerts/deliver sends them). Backtest runs the same detectors
// over a past period into a Book in memory.
package alerts
