package simulate

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
)

// Config describes one simulated capture. Start it from DefaultConfig and
// set at least Start; the same Config (Seed included) always produces the
// same capture, byte for byte, on the same platform.
type Config struct {
	// Fleet is the set of sensors the capture is for; packets go only to
	// their monitored addresses. Nil means DefaultFleet(). The CLI fills it
	// from a sensors file, hence no YAML key.
	Fleet *fleet.Fleet `yaml:"-"`

	// Start is the time of the first possible packet (UTC). Required: there
	// is deliberately no default, so that tests never depend on the clock.
	Start time.Time `yaml:"start"`
	// End is the exclusive end of the period. When zero, the period is
	// Start + Duration; when set, it wins over Duration.
	End time.Time `yaml:"end"`
	// Duration is the length of the period when End is zero. Default 7 days.
	Duration time.Duration `yaml:"duration"`

	// Packets is the exact number of packets written. Default 1,000,000.
	Packets uint64 `yaml:"packets"`
	// Seed selects the random world: addresses, sources, timing, fields.
	// Default 1.
	Seed uint64 `yaml:"seed"`
	// Sources is the size of the pool of source addresses (scanners, bots,
	// DoS victims sending backscatter...). Sources that happen to draw no
	// packet are absent from the truth. Default 20,000.
	Sources int `yaml:"sources"`

	// Mix is each traffic class's share of the packets. Default DefaultMix().
	Mix Mix `yaml:"mix"`

	// DiurnalFactor is the ratio of the packet rate at the daily peak to the
	// rate at the daily trough (a cosine over the UTC day). 1 disables the
	// daily cycle. Default 1.6: botnets of home routers and cameras follow
	// their owners' day, and telescopes see a mild daily swing in the total
	// (NICTER Observation Reports; Moore et al. observed the same for
	// Code-Red and later worms).
	DiurnalFactor float64 `yaml:"diurnal-factor"`
	// PeakHour is the UTC hour (0-24, fractional) of the daily peak.
	// Default 13: evening in East Asia, where much IoT-botnet traffic comes
	// from.
	PeakHour float64 `yaml:"peak-hour"`
	// WeeklyFactor is the ratio of the packet rate on weekdays to the rate
	// on weekends (Saturday and Sunday, UTC days). 1 disables the weekly
	// cycle. Default 1, so that captures made before it existed are made
	// again byte for byte; AlertScenario sets one, as the bots of home
	// devices and the scanners run by people follow the working week.
	WeeklyFactor float64 `yaml:"weekly-factor"`

	// ParetoAlpha is the tail index of the per-source activity (Pareto):
	// smaller means heavier, a few sources sending most packets. Default
	// 1.1 (CAIDA's telescope papers and TSUBAME report a handful of sources
	// responsible for most probes, and a long tail of one-packet sources).
	ParetoAlpha float64 `yaml:"pareto-alpha"`
	// Campaigns, when true, makes most sources active only during a window
	// (a scan campaign, a bot's lifetime at an address, a DoS attack), the
	// rest for the whole period. When false every source is active for
	// the whole period, which gives a steady total rate (useful to test
	// the daily cycle). Default true.
	Campaigns bool `yaml:"campaigns"`

	// AllSensorsShare is the probability that a Mirai, generic-scan, ICMP,
	// UDP or IPv6 source reaches every sensor (an Internet-wide scan); the
	// others reach one group of sensors (a third of them) or a single sensor.
	// ZMap, Masscan, backscatter and spoofed sources reach every sensor with
	// probability 0.9 (full IPv4 scans, randomly spoofed addresses); nmap and
	// unicornscan sources scan a single sensor. Default 0.5.
	AllSensorsShare float64 `yaml:"all-sensors-share"`
	// GroupWeights multiplies the traffic volume of the sensors of a group.
	// Groups not listed weigh 1. Default {"overseas": 2}: sensors abroad
	// usually see more than those in Japanese networks (TSUBAME reports).
	GroupWeights map[string]float64 `yaml:"group-weights"`
	// SensorWeights multiplies the volume of single sensors, by name.
	// A sensor's volume is also proportional to the square root of its
	// number of monitored addresses.
	SensorWeights map[string]float64 `yaml:"sensor-weights"`

	// Events are the labelled events injected into the capture (see
	// Event): their packets are extra to Packets, and Truth.Events is
	// their ground truth.
	Events []Event `yaml:"events"`
}

// Mix gives each traffic class's share of the packets. Shares need not sum
// to 1: they are normalised over the classes in use. IPv6 is used only when
// a sensor of the fleet monitors an IPv6 prefix.
type Mix struct {
	// Mirai: Mirai-family telnet scanning, TCP SYN with seq == destination
	// (23 ~90%, 2323 ~10%; variants add 37215, 52869, 8080).
	Mirai float64 `yaml:"mirai"`
	// ZMap: ZMap probes (IP ID 54321): TCP SYN to one port per scan, ICMP
	// echo, UDP.
	ZMap float64 `yaml:"zmap"`
	// Masscan: masscan TCP SYN probes (IP ID = dst ^ dport ^ seq).
	Masscan float64 `yaml:"masscan"`
	// Nmap: nmap SYN scans (window 1024, lone MSS option) of one sensor.
	Nmap float64 `yaml:"nmap"`
	// Unicornscan: unicornscan port sweeps of one sensor.
	Unicornscan float64 `yaml:"unicornscan"`
	// Scan: other TCP SYN scanners with ordinary OS stacks and a
	// heavy-tailed port popularity (23, 8728, 22, 80, 6379, 443, 3389...).
	Scan float64 `yaml:"scan"`
	// ICMP: ICMP echo requests (ping sweeps).
	ICMP float64 `yaml:"icmp"`
	// UDP: UDP service probes (53, 123, 161, 1900, 5060, 137, 11211...).
	UDP float64 `yaml:"udp"`
	// Backscatter: replies of DoS victims to packets forged with our
	// addresses: SYN-ACK, RST, ICMP errors and echo replies, DNS responses.
	Backscatter float64 `yaml:"backscatter"`
	// Spoofed: packets that corsaro's spoofing filter flags (source .0 or
	// .255, TTL >= 200, odd TCP flags, other protocols, fragments...).
	Spoofed float64 `yaml:"spoofed"`
	// IPv6: IPv6 scans (TCP SYN, ICMPv6 echo, UDP) and backscatter, to the
	// sensors that monitor IPv6 prefixes.
	IPv6 float64 `yaml:"ipv6"`
}

// DefaultMix is a mix loosely calibrated on public telescope reports:
// JPCERT/CC TSUBAME quarterly reports (23/TCP first for years, then 8728,
// 22, 80, 6379, 443, 3389...), NICTER Observation Reports 2022-2024 (about a
// third of the probes IoT-related, Mirai's seq == dst marker on a large share
// of them), CAIDA's UCSD telescope studies (backscatter a few percent of
// packets; ZMap and Masscan a growing share since 2014, Durumeric et al.,
// "An Internet-Wide View of Internet-Wide Scanning", USENIX Security 2014).
func DefaultMix() Mix {
	return Mix{
		Mirai:       0.30,
		ZMap:        0.08,
		Masscan:     0.07,
		Nmap:        0.02,
		Unicornscan: 0.005,
		Scan:        0.35,
		ICMP:        0.05,
		UDP:         0.05,
		Backscatter: 0.05,
		Spoofed:     0.015,
		IPv6:        0.01,
	}
}

func (m Mix) shares() [numKinds]float64 {
	return [numKinds]float64{
		kindMirai:       m.Mirai,
		kindZMap:        m.ZMap,
		kindMasscan:     m.Masscan,
		kindNmap:        m.Nmap,
		kindUnicornscan: m.Unicornscan,
		kindScan:        m.Scan,
		kindICMP:        m.ICMP,
		kindUDP:         m.UDP,
		kindBackscatter: m.Backscatter,
		kindSpoofed:     m.Spoofed,
		kindIPv6:        m.IPv6,
	}
}

// DefaultConfig returns the defaults, with Start unset: the caller must set
// it (the CLI defaults it).
func DefaultConfig() Config {
	return Config{
		Duration:        7 * 24 * time.Hour,
		Packets:         1_000_000,
		Seed:            1,
		Sources:         20_000,
		Mix:             DefaultMix(),
		DiurnalFactor:   1.6,
		PeakHour:        13,
		WeeklyFactor:    1,
		ParetoAlpha:     1.1,
		Campaigns:       true,
		AllSensorsShare: 0.5,
		GroupWeights:    map[string]float64{"overseas": 2},
	}
}

// period returns the start and exclusive end in nanoseconds.
func (c *Config) period() (int64, int64) {
	end := c.End
	if end.IsZero() {
		end = c.Start.Add(c.Duration)
	}
	return c.Start.UnixNano(), end.UnixNano()
}

// Validate checks the configuration. Run calls it.
func (c *Config) Validate() error {
	if c.Start.IsZero() {
		return errors.New("simulate: start time is required")
	}
	start, end := c.period()
	if end <= start {
		return fmt.Errorf("simulate: end %s is not after start %s", time.Unix(0, end).UTC(), c.Start.UTC())
	}
	if c.Fleet != nil {
		if err := c.Fleet.Validate(); err != nil {
			return fmt.Errorf("simulate: fleet: %w", err)
		}
	}
	if c.Sources <= 0 {
		return fmt.Errorf("simulate: sources must be positive, got %d", c.Sources)
	}
	var sum float64
	for k, s := range c.Mix.shares() {
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return fmt.Errorf("simulate: mix share %s is %v", kind(k), s)
		}
		sum += s
	}
	if sum <= 0 {
		return errors.New("simulate: every mix share is zero")
	}
	if !(c.DiurnalFactor >= 1) || math.IsInf(c.DiurnalFactor, 0) {
		return fmt.Errorf("simulate: diurnal factor must be >= 1, got %v", c.DiurnalFactor)
	}
	if !(c.WeeklyFactor > 0) || math.IsInf(c.WeeklyFactor, 0) {
		return fmt.Errorf("simulate: weekly factor must be positive, got %v", c.WeeklyFactor)
	}
	if !(c.PeakHour >= 0 && c.PeakHour <= 24) {
		return fmt.Errorf("simulate: peak hour must be within [0, 24], got %v", c.PeakHour)
	}
	if !(c.ParetoAlpha > 0) || math.IsInf(c.ParetoAlpha, 0) {
		return fmt.Errorf("simulate: pareto alpha must be positive, got %v", c.ParetoAlpha)
	}
	if !(c.AllSensorsShare >= 0 && c.AllSensorsShare <= 1) {
		return fmt.Errorf("simulate: all-sensors share must be within [0, 1], got %v", c.AllSensorsShare)
	}
	for name, w := range c.GroupWeights {
		if !(w > 0) || math.IsInf(w, 0) {
			return fmt.Errorf("simulate: group weight %q must be positive, got %v", name, w)
		}
	}
	for name, w := range c.SensorWeights {
		if !(w > 0) || math.IsInf(w, 0) {
			return fmt.Errorf("simulate: sensor weight %q must be positive, got %v", name, w)
		}
	}
	f := c.Fleet
	if f == nil {
		f = DefaultFleet()
	}
	for i := range c.Events {
		e := &c.Events[i]
		if err := e.validate(time.Unix(0, start).UTC(), time.Unix(0, end).UTC(), f); err != nil {
			return fmt.Errorf("simulate: event #%d (%s): %w", i+1, e.Kind, err)
		}
	}
	return nil
}

// DefaultFleet returns six sensors: three in the group "Japan" and three
// "overseas", on addresses of the benchmarking range 198.18.0.0/15 (RFC
// 2544, never routed on the Internet) and, for one sensor, the IPv6
// documentation prefix. Sizes differ on purpose (a single address up to a
// /27) so that per-sensor volumes differ.
func DefaultFleet() *fleet.Fleet {
	f := &fleet.Fleet{Sensors: []fleet.Sensor{
		{Name: "jp-tokyo-1", Group: "Japan", Country: "JP", Description: "university campus network, Tokyo", Addresses: []string{"198.18.0.10"}},
		{Name: "jp-osaka-1", Group: "Japan", Country: "JP", Description: "regional ISP, unused customer block, Osaka", Addresses: []string{"198.18.1.0/29"}},
		{Name: "jp-fukuoka-1", Group: "Japan", Country: "JP", Description: "data centre, Fukuoka", Addresses: []string{"198.18.2.32/28"}},
		{Name: "us-sjc-1", Group: "overseas", Country: "US", Description: "cloud VPS, San Jose", Addresses: []string{"198.19.0.77"}},
		{Name: "de-fra-1", Group: "overseas", Country: "DE", Description: "hosting provider, Frankfurt (dual stack)", Addresses: []string{"198.19.1.0/28", "2001:db8:1::/64"}},
		{Name: "sg-sin-1", Group: "overseas", Country: "SG", Description: "research network, Singapore", Addresses: []string{"198.19.2.0/27"}},
	}}
	if err := f.Validate(); err != nil {
		panic("simulate: default fleet: " + err.Error()) // a constant; tested
	}
	return f
}
