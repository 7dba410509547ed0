package alerts

import (
	"math"
	"slices"
)

// baseline is what an hour is compared with: the median of samples (the
// same hour of the previous weeks) and a robust spread.
type baseline struct {
	median, spread float64
	samples        int
}

// minSamples: fewer samples than this give no baseline (the detector is
// still learning the series).
const minSamples = 2

// newBaseline summarises samples (reordered). The spread is the scaled
// median absolute deviation, but never below the Poisson noise of the
// median (its square root) nor a tenth of it: with four samples the MAD
// alone can be zero, and a port whose count never moved would then alert
// on one packet more.
func newBaseline(samples []float64) (baseline, bool) {
	if len(samples) < minSamples {
		return baseline{}, false
	}
	m := median(samples)
	dev := make([]float64, len(samples))
	for i, v := range samples {
		dev[i] = math.Abs(v - m)
	}
	spread := max(1.4826*median(dev), math.Sqrt(m+1), m/10)
	return baseline{median: m, spread: spread, samples: len(samples)}, true
}

func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// score is how many spreads x is above the baseline.
func (b baseline) score(x float64) float64 { return (x - b.median) / b.spread }

// ratio is x over the baseline, with the baseline floored at one so that
// a port from nothing has a finite ratio.
func (b baseline) ratio(x float64) float64 { return x / max(b.median, 1) }
