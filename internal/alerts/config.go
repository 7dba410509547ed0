package alerts

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The detectors, by the name alerts carry.
const (
	// DetectPortSurge: a port's packets or sources far above its
	// baseline at a sensor, a group or the fleet.
	DetectPortSurge = "port-surge"
	// DetectNewCampaign: a port with no traffic of note in the previous
	// week suddenly scanned by many sources.
	DetectNewCampaign = "new-campaign"
	// DetectLocalChange: a surge or a new campaign at one sensor, or at
	// the sensors of one group, that the others do not show.
	DetectLocalChange = "local-change"
	// DetectTopEntry: a port entering an owner's top N of a day.
	DetectTopEntry = "top-entry"
	// DetectTagSpread: Mirai-tagged packets on a port that had none.
	DetectTagSpread = "tag-spread"
	// DetectTagSurge: a fingerprint tag's packets far above its baseline.
	DetectTagSurge = "tag-surge"
	// DetectBackscatter: a surge of backscatter, a DoS victim's replies.
	DetectBackscatter = "backscatter"
	// DetectSensorSilent: a sensor that stopped receiving, or reporting.
	DetectSensorSilent = "sensor-silent"
	// DetectSensorDrops: a sensor dropping packets or batches.
	DetectSensorDrops = "sensor-drops"
	// DetectSpoolBacklog: a sensor's spool growing, its batches unacknowledged.
	DetectSpoolBacklog = "spool-backlog"
)

// Detectors lists every detector.
var Detectors = []string{DetectPortSurge, DetectNewCampaign, DetectLocalChange, DetectTopEntry,
	DetectTagSpread, DetectTagSurge, DetectBackscatter, DetectOriginSurge, DetectNewDevice,
	DetectSensorSilent, DetectSensorDrops, DetectSpoolBacklog}

// Config is the detectors' configuration (the alerts: section of the
// collector's, serve's and demo's YAML files). The defaults are meant to
// be quiet on ordinary traffic: BENCHMARKS.md gives their false alerts
// per sensor-week on simulated quiet weeks.
type Config struct {
	// Enabled runs the detectors in the daemon (default true).
	Enabled bool `yaml:"enabled"`
	// Interval is how often the live engine looks (default 1m).
	Interval time.Duration `yaml:"interval"`
	// Weeks of the same hour make the baseline (default 4).
	Weeks int `yaml:"weeks"`
	// Thresholds apply to every scope not overridden.
	Thresholds Thresholds `yaml:"thresholds"`
	// Overrides change the thresholds, or disable detectors, for the
	// scopes they cover; the last one that covers a scope wins.
	Overrides []Override `yaml:"overrides"`
	// Disabled lists detectors that never run.
	Disabled []string `yaml:"disabled"`
	// SurgeTags are the fingerprint tags whose surges at a group or the
	// fleet alert (tag-surge); backscatter always does, as its own
	// detector. Default none: on simulated quarters, surges of the mirai
	// tag at a group were one bot's campaign as often as not (the store
	// counts a tag's packets, not its sources), and the changes of Mirai
	// that matter show in the ports — tag-spread, and the surges of a
	// port's sources. The tags of single-host tools (nmap, unicornscan)
	// surge with every scan one host runs.
	SurgeTags []string `yaml:"surge_tags"`
	// ResolveAfter: an alert not seen for this long is resolved
	// (default 3h). ReopenWithin: a resolved alert that comes back
	// within this is re-opened rather than opened anew (default 24h).
	ResolveAfter time.Duration `yaml:"resolve_after"`
	ReopenWithin time.Duration `yaml:"reopen_within"`
	// Receivers are the names of the receivers each notifiable change is
	// queued for (package alerts/deliver sends them).
	Receivers []string `yaml:"-"`
}

// Thresholds are when a detector fires.
type Thresholds struct {
	// MinScore: how many robust spreads above the baseline (default 6).
	MinScore float64 `yaml:"min_score"`
	// MinRatio: how many times the baseline (default 3).
	MinRatio float64 `yaml:"min_ratio"`
	// MinPackets and MinSources: the least an hour must have for a surge
	// of a port's packets or of its sources (default 30 and 12), so that
	// small ports do not alert on a handful of packets; MinTagPackets
	// the same for a tag's packets (default 100).
	MinPackets    uint64 `yaml:"min_packets"`
	MinSources    uint64 `yaml:"min_sources"`
	MinTagPackets uint64 `yaml:"min_tag_packets"`
	// CampaignSources: the sources an hour that make a new campaign of a
	// port that was quiet (default 5).
	CampaignSources uint64 `yaml:"campaign_sources"`
	// QuietSources: a port is new to an owner when no hour of the
	// previous week had more distinct sources than this (default 2).
	QuietSources uint64 `yaml:"quiet_sources"`
	// FleetShare: a change seen by at least this share of the sensors
	// (and at least two) is the fleet's, not theirs (default 0.5).
	FleetShare float64 `yaml:"fleet_share"`
	// PeerScore: a peer whose score is below this did not see the
	// change (default 3).
	PeerScore float64 `yaml:"peer_score"`
	// TopN: the top a port enters (default 10).
	TopN int `yaml:"top_n"`
	// TopEntrySensors: a port entering one sensor's top alerts too
	// (default false: the groups' and the fleet's only). A sensor's top
	// ten churns with the campaigns of single scanners: on simulated
	// quarters, most of its entries were one UDP prober's day.
	TopEntrySensors bool `yaml:"top_entry_sensors"`
	// MinMirai: Mirai-tagged packets in an hour for a spread (default 100).
	MinMirai uint64 `yaml:"min_mirai"`
	// SilentBaseline and SilentShare: a sensor is silent when an hour
	// has under SilentShare of its baseline (default 0.4) and the
	// baseline is at least SilentBaseline (default 100).
	SilentBaseline float64 `yaml:"silent_baseline"`
	SilentShare    float64 `yaml:"silent_share"`
	// HealthSilence: a sensor that has not reported its health for this
	// long is silent (default 10m); DropShare: the share of its packets
	// the kernel dropped between two reports that is a problem (default
	// 0.01); BacklogBatches: a spool this deep and growing (default 100).
	HealthSilence  time.Duration `yaml:"health_silence"`
	DropShare      float64       `yaml:"drop_share"`
	BacklogBatches uint64        `yaml:"backlog_batches"`
}

// Override is thresholds for the scopes it covers: its Scope (a sensor,
// a group, a port...) and Detector ("" any).
type Override struct {
	Detector string `yaml:"detector"`
	// Scope in Scope.String's form: "sensor=tokyo-1,port=23/TCP".
	Scope string `yaml:"scope"`
	// Disabled: the detector does not fire for these scopes.
	Disabled   bool              `yaml:"disabled"`
	Thresholds PartialThresholds `yaml:"thresholds"`

	scope store.Scope
}

// PartialThresholds are the thresholds an override changes; nil keeps
// the default's.
type PartialThresholds struct {
	MinScore        *float64 `yaml:"min_score"`
	MinRatio        *float64 `yaml:"min_ratio"`
	MinPackets      *uint64  `yaml:"min_packets"`
	MinSources      *uint64  `yaml:"min_sources"`
	QuietSources    *uint64  `yaml:"quiet_sources"`
	CampaignSources *uint64  `yaml:"campaign_sources"`
	MinMirai        *uint64  `yaml:"min_mirai"`
	MinTagPackets   *uint64  `yaml:"min_tag_packets"`
	TopEntrySensors *bool    `yaml:"top_entry_sensors"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Enabled:      true,
		Interval:     time.Minute,
		Weeks:        4,
		ResolveAfter: 3 * time.Hour,
		ReopenWithin: 24 * time.Hour,
		Thresholds: Thresholds{
			MinScore: 6, MinRatio: 3, MinPackets: 30, MinTagPackets: 100, MinSources: 12, CampaignSources: 5, QuietSources: 2,
			FleetShare: 0.5, PeerScore: 3, TopN: 10, MinMirai: 100, SilentBaseline: 100, SilentShare: 0.4,
			HealthSilence: 10 * time.Minute, DropShare: 0.01, BacklogBatches: 100,
		},
	}
}

// Validate checks the configuration and parses the overrides' scopes;
// errors name the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("alerts."+key+": "+format, a...))
	}
	if c.Interval < time.Second {
		bad("interval", "%s is under a second", c.Interval)
	}
	if c.Weeks < 1 || c.Weeks > 12 {
		bad("weeks", "%d is not between 1 and 12", c.Weeks)
	}
	if c.ResolveAfter < time.Hour {
		bad("resolve_after", "%s is under an hour (the detectors look at whole hours)", c.ResolveAfter)
	}
	if c.ReopenWithin < 0 {
		bad("reopen_within", "%s is negative", c.ReopenWithin)
	}
	t := c.Thresholds
	if t.MinScore <= 0 {
		bad("thresholds.min_score", "%g is not positive", t.MinScore)
	}
	if t.MinRatio < 1 {
		bad("thresholds.min_ratio", "%g is under 1", t.MinRatio)
	}
	if t.FleetShare <= 0 || t.FleetShare > 1 {
		bad("thresholds.fleet_share", "%g is not in (0, 1]", t.FleetShare)
	}
	if t.PeerScore <= 0 {
		bad("thresholds.peer_score", "%g is not positive", t.PeerScore)
	}
	if t.TopN < 1 {
		bad("thresholds.top_n", "%d is under 1", t.TopN)
	}
	if t.SilentShare <= 0 || t.SilentShare >= 1 {
		bad("thresholds.silent_share", "%g is not in (0, 1)", t.SilentShare)
	}
	if t.DropShare <= 0 || t.DropShare >= 1 {
		bad("thresholds.drop_share", "%g is not in (0, 1)", t.DropShare)
	}
	if t.HealthSilence < time.Minute {
		bad("thresholds.health_silence", "%s is under a minute", t.HealthSilence)
	}
	for _, tag := range c.SurgeTags {
		if _, err := record.ParseTag(tag); err != nil {
			bad("surge_tags", "%v", err)
		}
	}
	for _, d := range c.Disabled {
		if !slices.Contains(Detectors, d) {
			bad("disabled", "unknown detector %q (want one of %s)", d, strings.Join(Detectors, ", "))
		}
	}
	for i := range c.Overrides {
		o := &c.Overrides[i]
		if o.Detector != "" && !slices.Contains(Detectors, o.Detector) {
			bad(fmt.Sprintf("overrides[%d].detector", i), "unknown detector %q (want one of %s)", o.Detector, strings.Join(Detectors, ", "))
		}
		s, err := store.ParseScope(o.Scope)
		if err != nil {
			bad(fmt.Sprintf("overrides[%d].scope", i), "%v", err)
		}
		o.scope = s
	}
	return errors.Join(errs...)
}

// thresholds returns the thresholds of a detector at a scope, and
// whether it may fire there.
func (c *Config) thresholds(detector string, at store.Scope) (Thresholds, bool) {
	if slices.Contains(c.Disabled, detector) {
		return Thresholds{}, false
	}
	t, on := c.Thresholds, true
	for _, o := range c.Overrides {
		if (o.Detector != "" && o.Detector != detector) || !o.scope.Covers(at) {
			continue
		}
		on = !o.Disabled
		p := o.Thresholds
		set(&t.MinScore, p.MinScore)
		set(&t.MinRatio, p.MinRatio)
		set(&t.MinPackets, p.MinPackets)
		set(&t.MinSources, p.MinSources)
		set(&t.QuietSources, p.QuietSources)
		set(&t.CampaignSources, p.CampaignSources)
		set(&t.TopEntrySensors, p.TopEntrySensors)
		set(&t.MinMirai, p.MinMirai)
		set(&t.MinTagPackets, p.MinTagPackets)
	}
	return t, on
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
