package simulate

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// rng is the simulator's random source: PCG (math/rand/v2), whose output is
// specified and stable across Go releases, called directly rather than
// through rand.Rand's interface so that the packet path stays cheap.
type rng struct{ pcg rand.PCG }

// newRNG returns a generator for one purpose (stream) of a run: the same
// seed and stream always give the same numbers.
func newRNG(seed, stream uint64) *rng {
	r := &rng{}
	r.pcg.Seed(seed, stream^0x9e3779b97f4a7c15)
	return r
}

func (r *rng) u64() uint64 { return r.pcg.Uint64() }
func (r *rng) u32() uint32 { return uint32(r.pcg.Uint64() >> 32) }
func (r *rng) u16() uint16 { return uint16(r.pcg.Uint64() >> 48) }

// intn returns a uniform integer in [0, n), n > 0 (Lemire's method).
func (r *rng) intn(n int) int {
	hi, lo := bits.Mul64(r.u64(), uint64(n))
	if lo < uint64(n) {
		thresh := -uint64(n) % uint64(n)
		for lo < thresh {
			hi, lo = bits.Mul64(r.u64(), uint64(n))
		}
	}
	return int(hi)
}

// between returns a uniform integer in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// float returns a uniform float64 in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) * 0x1p-53 }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// pareto returns a Pareto(alpha) variate with minimum 1: few large values,
// many near 1 — the shape of per-source activity at a telescope.
func (r *rng) pareto(alpha float64) float64 {
	u := 1 - r.float() // (0, 1]
	return math.Pow(u, -1/alpha)
}

// logUniform returns a value between lo and hi whose logarithm is uniform.
func (r *rng) logUniform(lo, hi float64) float64 {
	return lo * math.Exp(r.float()*math.Log(hi/lo))
}

// alias samples an index with probability proportional to fixed weights in
// constant time (Vose's alias method). Thresholds are integers, so sampling
// involves no floating point.
type alias struct {
	thresh []uint32 // keep index i when the low 32 random bits are below thresh[i]
	other  []int32
}

// newAlias builds a sampler over w, which must have a positive sum.
func newAlias(w []float64) alias {
	var a alias
	a.build(w, nil)
	return a
}

// build (re)builds the sampler over w, reusing the sampler's memory;
// scratch, if non-nil, is reused for the work list.
func (a *alias) build(w []float64, scratch *[]float64) {
	n := len(w)
	a.thresh = grow(a.thresh, n)
	a.other = grow(a.other, n)
	var sum float64
	for _, x := range w {
		sum += x
	}
	var p []float64
	if scratch != nil {
		*scratch = grow(*scratch, n)
		p = *scratch
	} else {
		p = make([]float64, n)
	}
	small := make([]int32, 0, n)
	large := make([]int32, 0, n)
	for i, x := range w {
		p[i] = x * float64(n) / sum
		a.other[i] = int32(i)
		if p[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.thresh[s] = uint32(p[s] * (1 << 32))
		a.other[s] = l
		p[l] = p[l] + p[s] - 1
		if p[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range large {
		a.thresh[i] = math.MaxUint32
	}
	for _, i := range small { // rounding leftovers
		a.thresh[i] = math.MaxUint32
	}
}

// pick draws an index.
func (a *alias) pick(r *rng) int {
	x := r.u64()
	i := int((x >> 32) * uint64(len(a.thresh)) >> 32)
	if uint32(x) < a.thresh[i] {
		return i
	}
	return int(a.other[i])
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
