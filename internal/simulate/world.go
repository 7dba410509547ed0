package simulate

import (
	"errors"
	"fmt"
	"math"
	"net/netip"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
)

// sensorInfo is a sensor as the generator uses it.
type sensorInfo struct {
	name, group string
	groupIdx    int
	mac         [6]byte
	weight      float64
	v4          []prefix4
	v4pick      alias
	v6          []prefix6
	v6pick      alias
	count       sensorCount
}

type prefix4 struct{ base, hostMask uint32 }

type prefix6 struct{ base, hostMask [16]byte }

// Source scopes: which sensors a source reaches.
const (
	scopeAll   uint8 = iota // every sensor (of its address family)
	scopeGroup              // the sensors of one group
	scopeOne                // one sensor
)

// source is one source address and the behaviour it keeps for the whole
// run: a scanner, a bot, a DoS victim sending backscatter...
//
// It is kept to one 64-byte cache line: sources are drawn at random for
// every packet, and the cache misses on their state were the largest cost
// of generation. Values that can be derived (ICMP IDs, TCP timestamps,
// flow labels) are derived from key; the IPv6 address and the lifetime
// live in side tables.
type source struct {
	addr    uint32 // IPv4 address; for IPv6 sources, the index in world.addr6
	key     uint32 // random per source: unicornscan's per-scan key, and a seed for derived fields
	packets uint64
	sensors uint64 // bit i: reached sensor i (i < 64)
	uni     fingerprint.UnicornState

	ports  [4]uint16
	window uint16
	sport  uint16
	sweep  uint16 // next port of a sweep
	target int16  // sensor (scopeOne) or group (scopeGroup) index

	v6      bool
	kind    kind
	variant uint8
	scope   uint8
	ttl     uint8 // TTL (hop limit) as received: initial TTL minus hops
	os      uint8 // option layout of generic SYNs
	wscale  uint8
	nports  uint8
}

// life is a source's activity: its weight (relative packet rate while
// active) and its active epochs [first, last).
type life struct {
	weight      float64
	first, last int32
}

// kindProfile holds the per-class constants of the source model.
type kindProfile struct {
	sourceShare float64 // share of the source pool
	persistent  float64 // probability of being active the whole period
	minDur      float64 // campaign length bounds, seconds (log-uniform)
	maxDur      float64
	allSensors  float64 // probability of reaching every sensor; < 0: use Config.AllSensorsShare
}

const (
	minute = 60.0
	hour   = 3600.0
	day    = 86400.0
)

// profiles: many Mirai bots sending little each, few ZMap/Masscan research
// scanners sending much (Durumeric et al. 2014; Richter & Berger,
// "Scanning the Scanners", IMC 2019); DoS attacks of minutes to a day
// (Moore et al. 2006: most under an hour, a heavy tail of days); bot
// addresses living days to weeks before churn (Antonakakis et al.,
// "Understanding the Mirai Botnet", USENIX Security 2017).
var profiles = [numKinds]kindProfile{
	kindMirai:       {0.40, 0.3, 6 * hour, 30 * day, -1},
	kindZMap:        {0.005, 0.6, hour, 3 * day, 0.9},
	kindMasscan:     {0.005, 0.5, 30 * minute, 2 * day, 0.9},
	kindNmap:        {0.01, 0.05, 5 * minute, 6 * hour, 0},
	kindUnicornscan: {0.002, 0, 5 * minute, 12 * hour, 0},
	kindScan:        {0.33, 0.3, hour, 14 * day, -1},
	kindICMP:        {0.07, 0.3, hour, 7 * day, -1},
	kindUDP:         {0.06, 0.3, hour, 7 * day, -1},
	kindBackscatter: {0.10, 0.05, 5 * minute, day, 0.9},
	kindSpoofed:     {0.008, 0.2, hour, 7 * day, 0.9},
	kindIPv6:        {0.01, 0.3, hour, 7 * day, -1},
}

// world is everything Run derives from the Config before the first packet.
type world struct {
	cfg        Config
	start, end int64
	sensors    []sensorInfo
	groups     []string
	groupSize  []int
	v4Sensors  []int
	v4all      alias
	v6Sensors  []int
	v6all      alias
	groupV4    [][]int
	groupPick  []alias
	sources    []source
	lives      []life
	addr6      [][16]byte
	used4      map[uint32]bool
	used6      map[[16]byte]bool
	excl4      []prefix4
	excl6      []prefix6
	// months is, by source, what it sent in each month it was active, in
	// order: the truth of its tags (fingerprint.SourceTags) in any period
	// of months. It lives apart from sources, which fit a cache line.
	months [][]sourceMonth
	// inj are the injected events (inject.go); their sources follow the
	// ordinary ones in sources, which alone have lives.
	inj []*injection
	// dropped counts, by source, the packets an outage took away: sent,
	// and counted in the source's host counters, but not captured.
	dropped map[int32]uint64

	// time model
	sliceLen    int64 // ns
	nSlices     int
	epochSlices int // slices per epoch
	nEpochs     int
	amp         float64 // diurnal amplitude
	epochMass   []float64

	tcp, zmapTCP, udp, bsPorts *table
}

// reserved4 are the IPv4 ranges no real source uses (RFC 6890 special
// purpose, private, shared, benchmarking, documentation, multicast and
// reserved).
var reserved4 = []string{
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
}

// reserved6 are excluded from IPv6 sources (documentation, Teredo, 6to4,
// ORCHID and the other IETF assignments in 2001::/23).
var reserved6 = []string{"2001:db8::/32", "2001::/23", "2002::/16", "3fff::/20"}

func newWorld(cfg Config) (*world, error) {
	w := &world{cfg: cfg, used4: map[uint32]bool{}, used6: map[[16]byte]bool{}, dropped: map[int32]uint64{}}
	w.start, w.end = cfg.period()
	f := cfg.Fleet
	if f == nil {
		f = DefaultFleet()
	}
	for _, s := range reserved4 {
		w.excl4 = append(w.excl4, toPrefix4(netip.MustParsePrefix(s)))
	}
	for _, s := range reserved6 {
		w.excl6 = append(w.excl6, toPrefix6(netip.MustParsePrefix(s)))
	}
	if err := w.setupSensors(f); err != nil {
		return nil, err
	}
	w.tcp = newTable(tcpPorts)
	w.zmapTCP = newTable(zmapTCPPorts)
	w.udp = newTable(udpPorts)
	w.bsPorts = newTable(backscatterPorts)
	w.setupTime()
	if err := w.setupSources(); err != nil {
		return nil, err
	}
	if err := w.setupEvents(); err != nil {
		return nil, err
	}
	return w, nil
}

func toPrefix4(p netip.Prefix) prefix4 {
	b := p.Masked().Addr().As4()
	return prefix4{base: uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), hostMask: ^uint32(0) >> p.Bits()}
}

func (p prefix4) contains(a uint32) bool { return a&^p.hostMask == p.base }

func toPrefix6(p netip.Prefix) prefix6 {
	var q prefix6
	q.base = p.Masked().Addr().As16()
	for i := range 16 {
		bitsLeft := p.Bits() - 8*i
		switch {
		case bitsLeft >= 8:
			q.hostMask[i] = 0
		case bitsLeft <= 0:
			q.hostMask[i] = 0xff
		default:
			q.hostMask[i] = 0xff >> bitsLeft
		}
	}
	return q
}

func (p *prefix6) contains(a *[16]byte) bool {
	for i := range 16 {
		if a[i]&^p.hostMask[i] != p.base[i] {
			return false
		}
	}
	return true
}

func (w *world) setupSensors(f *fleet.Fleet) error {
	if err := f.Validate(); err != nil { // parses the prefixes
		return fmt.Errorf("simulate: fleet: %w", err)
	}
	groupIdx := map[string]int{}
	var w4, w6 []float64
	for i := range f.Sensors {
		fs := &f.Sensors[i]
		gi, ok := groupIdx[fs.Group]
		if !ok {
			gi = len(w.groups)
			groupIdx[fs.Group] = gi
			w.groups = append(w.groups, fs.Group)
			w.groupSize = append(w.groupSize, 0)
			w.groupV4 = append(w.groupV4, nil)
		}
		w.groupSize[gi]++
		s := sensorInfo{name: fs.Name, group: fs.Group, groupIdx: gi, mac: sensorMAC(i + 1)}
		var n4, n6 []float64
		var addrs float64
		for _, p := range fs.Prefixes() {
			if p.Addr().Is4() {
				q := toPrefix4(p)
				s.v4 = append(s.v4, q)
				n4 = append(n4, float64(q.hostMask)+1)
				addrs += float64(q.hostMask) + 1
				w.excl4 = append(w.excl4, q)
			} else {
				s.v6 = append(s.v6, toPrefix6(p))
				// An IPv6 prefix is sparsely scanned whatever its size:
				// weigh each the same.
				n6 = append(n6, 1)
				addrs++
				w.excl6 = append(w.excl6, toPrefix6(p))
			}
		}
		s.weight = math.Sqrt(addrs)
		if g, ok := w.cfg.GroupWeights[fs.Group]; ok {
			s.weight *= g
		}
		if sw, ok := w.cfg.SensorWeights[fs.Name]; ok {
			s.weight *= sw
		}
		if len(n4) > 0 {
			s.v4pick = newAlias(n4)
			w.v4Sensors = append(w.v4Sensors, i)
			w4 = append(w4, s.weight)
			w.groupV4[gi] = append(w.groupV4[gi], i)
		}
		if len(n6) > 0 {
			s.v6pick = newAlias(n6)
			w.v6Sensors = append(w.v6Sensors, i)
			w6 = append(w6, s.weight)
		}
		w.sensors = append(w.sensors, s)
	}
	if len(w.v4Sensors) == 0 {
		return errors.New("simulate: the fleet monitors no IPv4 address")
	}
	w.v4all = newAlias(w4)
	if len(w6) > 0 {
		w.v6all = newAlias(w6)
	}
	w.groupPick = make([]alias, len(w.groups))
	for gi, idx := range w.groupV4 {
		if len(idx) == 0 {
			continue
		}
		ws := make([]float64, len(idx))
		for j, i := range idx {
			ws[j] = w.sensors[i].weight
		}
		w.groupPick[gi] = newAlias(ws)
	}
	return nil
}

// shares returns the normalised packet share of each class in use.
func (w *world) shares() [numKinds]float64 {
	sh := w.cfg.Mix.shares()
	if len(w.v6Sensors) == 0 {
		sh[kindIPv6] = 0
	}
	var sum float64
	for _, x := range sh {
		sum += x
	}
	for k := range sh {
		sh[k] /= sum
	}
	return sh
}

// setupTime divides the period into one-minute slices (the unit in which
// packets are generated in time order) and epochs of whole slices (the
// unit of source activity; at most 1024 of them).
func (w *world) setupTime() {
	w.sliceLen = 60e9
	period := w.end - w.start
	w.nSlices = int((period + w.sliceLen - 1) / w.sliceLen)
	w.epochSlices = (w.nSlices + 1023) / 1024
	w.nEpochs = (w.nSlices + w.epochSlices - 1) / w.epochSlices
	f := w.cfg.DiurnalFactor
	w.amp = (f - 1) / (f + 1)
	w.epochMass = make([]float64, w.nEpochs)
	for k := range w.nSlices {
		w.epochMass[k/w.epochSlices] += w.sliceMass(k)
	}
}

// slice returns the bounds of slice k.
func (w *world) slice(k int) (int64, int64) {
	s0 := w.start + int64(k)*w.sliceLen
	return s0, min(s0+w.sliceLen, w.end)
}

// sliceMass is the length of slice k times the daily-cycle rate at its
// middle: 1 + amp*cos(2π(hour - peak)/24), whose maximum over minimum is
// DiurnalFactor.
func (w *world) sliceMass(k int) float64 {
	s0, s1 := w.slice(k)
	mid := (s0 + s1) / 2
	const dayNS = 86400e9
	tod := mid % dayNS
	if tod < 0 {
		tod += dayNS
	}
	h := float64(tod) / 3600e9
	rate := 1 + w.amp*math.Cos(2*math.Pi*(h-w.cfg.PeakHour)/24)
	if f := w.cfg.WeeklyFactor; f != 1 && weekend(mid) {
		rate /= f
	}
	return float64(s1-s0) / 1e9 * rate
}

// weekend reports whether the instant t (Unix nanoseconds) is on a
// Saturday or a Sunday, UTC.
func weekend(t int64) bool {
	const dayNS = 86400e9
	d := t / dayNS
	if t%dayNS < 0 {
		d--
	}
	// 1970-01-01 was a Thursday: weekday 4, counting from Sunday.
	wd := (d%7 + 7 + 4) % 7
	return wd == 0 || wd == 6
}

func (w *world) setupSources() error {
	shares := w.shares()
	var active []kind
	for k := range numKinds {
		if shares[k] > 0 {
			active = append(active, k)
		}
	}
	if w.cfg.Sources < len(active) {
		return fmt.Errorf("simulate: %d sources is fewer than the %d traffic classes in use", w.cfg.Sources, len(active))
	}
	// Apportion the pool among the classes: at least one source each.
	counts := make([]int, numKinds)
	var shareSum float64
	for _, k := range active {
		shareSum += profiles[k].sourceShare
	}
	total, biggest := 0, active[0]
	for _, k := range active {
		counts[k] = max(1, int(math.Round(float64(w.cfg.Sources)*profiles[k].sourceShare/shareSum)))
		total += counts[k]
		if counts[k] > counts[biggest] {
			biggest = k
		}
	}
	counts[biggest] += w.cfg.Sources - total
	for counts[biggest] < 1 { // too many rounded up: take from the others
		for _, k := range active {
			if k != biggest && counts[k] > 1 && counts[biggest] < 1 {
				counts[k]--
				counts[biggest]++
			}
		}
	}

	r := newRNG(w.cfg.Seed, 1)
	w.sources = make([]source, 0, w.cfg.Sources)
	w.lives = make([]life, 0, w.cfg.Sources)
	exposure := make([]float64, numKinds)
	cum := make([]float64, w.nEpochs+1) // prefix sums of epoch mass
	for e, m := range w.epochMass {
		cum[e+1] = cum[e] + m
	}
	epochSecs := float64(w.epochSlices) * float64(w.sliceLen) / 1e9
	for _, k := range active {
		prof := profiles[k]
		for i := range counts[k] {
			s := source{kind: k}
			l := life{weight: r.pareto(w.cfg.ParetoAlpha), last: int32(w.nEpochs)}
			if w.cfg.Campaigns && i > 0 && !r.chance(prof.persistent) {
				d := int(math.Round(r.logUniform(prof.minDur, prof.maxDur) / epochSecs))
				d = max(1, d)
				if d < w.nEpochs {
					l.first = int32(r.intn(w.nEpochs - d + 1))
					l.last = l.first + int32(d)
				}
			}
			if err := w.initSource(&s, r); err != nil {
				return err
			}
			exposure[k] += l.weight * (cum[l.last] - cum[l.first])
			w.sources = append(w.sources, s)
			w.lives = append(w.lives, l)
		}
	}
	w.months = make([][]sourceMonth, len(w.sources))
	// Normalise: class k's expected share of the packets is shares[k].
	for i := range w.sources {
		k := w.sources[i].kind
		w.lives[i].weight *= shares[k] / exposure[k]
	}
	return nil
}
