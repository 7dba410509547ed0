package simulate

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/banner"
)

// The devices behind the simulated sources: the IoT-bot classes (Mirai and
// the generic scanners) run on routers, cameras and CPE, some of which a
// banner scan identifies. Which source has which device depends only on
// the address and the seed, like the geography.
const (
	// devicePerMille of the bot sources answer a banner scan as one of
	// the device profiles; decoyPerMille answer with a page that names a
	// vendor without being its device; natPerMille answer as two
	// devices (behind one NAT'd address).
	devicePerMille = 450
	decoyPerMille  = 30
	natPerMille    = 20
)

// deviceKinds are the traffic classes whose sources may be devices: the
// research scanners' (zmap, masscan, nmap...) are servers, not devices.
var deviceKinds = map[string]bool{"mirai": true, "scan": true}

// DeviceTruth is what one banner file of a simulated capture's sources
// shows, and the attribution a correct importer gives: the expected
// device of every source that answered, and the expected model table.
// It depends on the format: a source whose only evidence is its
// certificate is identified by a file that carries certificates, not by
// one that does not.
type DeviceTruth struct {
	// Sources is keyed by address: the sources whose banners identify a
	// device. The others (decoys, devices whose identifying fields the
	// format does not carry) must get none.
	Sources map[string]SourceDevice `json:"sources"`
	// Decoys are the sources that answered with a decoy page.
	Decoys []string `json:"decoys"`
	// Models are the device models with their sources, by sources
	// descending, then vendor and model; a conflicting source counts
	// under neither of its models.
	Models []ModelCount `json:"models"`
}

// SourceDevice is a source's expected device: Model and Kind "" when the
// file names only the vendor, Firmware "" when it carries no version. A Conflict
// source answered as the two devices of Both, and its attribution must
// say conflict.
type SourceDevice struct {
	Vendor   string   `json:"vendor,omitempty"`
	Model    string   `json:"model,omitempty"`
	Kind     string   `json:"kind,omitempty"`
	Firmware string   `json:"firmware,omitempty"`
	Conflict bool     `json:"conflict,omitempty"`
	Both     []string `json:"both,omitempty"` // "TP-Link Archer AX50", for a conflict
}

// ModelCount is a model and its sources.
type ModelCount struct {
	Vendor  string `json:"vendor"`
	Model   string `json:"model"`
	Kind    string `json:"kind"`
	Sources int    `json:"sources"`
}

// scanned is one source of a banner scan and the profiles it answered as
// (one; two for a NAT'd address).
type scanned struct {
	addr     netip.Addr
	profiles []int
	decoy    bool
}

// sourceBanners returns the banners a scan of the truth's sources would
// record at the end of the run, one Record per service, in address
// order, and which source answered as which profile.
func sourceBanners(t *Truth) ([]banner.Record, []scanned) {
	profiles := DeviceProfiles()
	var devs, decoys, natted []int
	for i, p := range profiles {
		switch {
		case p.Model == "":
			decoys = append(decoys, i)
		case len(p.VendorFields) == 0:
			natted = append(natted, i)
			fallthrough
		default:
			devs = append(devs, i)
		}
	}
	addrs := make([]netip.Addr, 0, len(t.Sources))
	for s, st := range t.Sources {
		if deviceKinds[st.Kind] {
			addrs = append(addrs, netip.MustParseAddr(s))
		}
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	var recs []banner.Record
	var out []scanned
	seen := t.End.Add(-time.Hour).UTC()
	add := func(a netip.Addr, p int, at time.Time) {
		for _, svc := range profiles[p].Services {
			r := svc
			r.Addr, r.Time = a, at
			r.TLS.SANs = slices.Clone(svc.TLS.SANs)
			recs = append(recs, r)
		}
	}
	for _, a := range addrs {
		h := geoHash(addrKey(a) ^ t.Seed*0x9e3779b97f4a7c15)
		x := int(h % 1000)
		pick := func(salt uint64, from []int) int { return from[int(geoHash(h+salt)%uint64(len(from)))] }
		switch {
		case x < devicePerMille:
			p := pick(1, devs)
			add(a, p, seen)
			out = append(out, scanned{addr: a, profiles: []int{p}})
		case x < devicePerMille+decoyPerMille:
			p := pick(2, decoys)
			add(a, p, seen)
			out = append(out, scanned{addr: a, profiles: []int{p}, decoy: true})
		case x < devicePerMille+decoyPerMille+natPerMille:
			// Two devices that every format identifies by model or not
			// at all: what a vendor-only match weighs against a model is
			// the signatures' business, not the truth's.
			p, q := pick(3, natted), pick(4, natted)
			for salt := uint64(5); q == p; salt++ {
				q = pick(salt, natted)
			}
			add(a, p, seen)
			add(a, q, seen.Add(-24*time.Hour))
			out = append(out, scanned{addr: a, profiles: []int{p, q}})
		}
	}
	return recs, out
}

// carried returns the fields a format keeps of a profile's services: it
// writes them and reads them back. What a format carries depends on the
// records, not on their addresses, so one round trip per profile says it
// for every source.
func carried(f banner.Format, p DeviceProfile) (map[banner.Field]bool, error) {
	var buf bytes.Buffer
	w, err := banner.NewWriter(&buf, f)
	if err != nil {
		return nil, err
	}
	for i := range p.Services {
		r := p.Services[i]
		r.Addr, r.Time = netip.MustParseAddr("192.0.2.1"), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := w.Write(&r); err != nil && !errors.Is(err, banner.ErrNotCarried) {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	out := map[banner.Field]bool{}
	if buf.Len() == 0 {
		return out, nil
	}
	r, err := banner.NewReader(&buf, f)
	if err != nil {
		return nil, err
	}
	for {
		var rec banner.Record
		err := r.Next(&rec)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read back %s: %w", f, err)
		}
		for _, field := range banner.Fields() {
			rec.Values(field, func(string) bool { out[field] = true; return false })
		}
	}
}

// expect is what a file whose carried fields are these says of profile p:
// its model, its vendor only, or nothing.
func expect(p DeviceProfile, has map[banner.Field]bool) (SourceDevice, bool) {
	any := func(fs []banner.Field) bool {
		return slices.ContainsFunc(fs, func(f banner.Field) bool { return has[f] })
	}
	switch {
	case p.Model == "":
		return SourceDevice{}, false
	case any(p.ModelFields):
		d := SourceDevice{Vendor: p.Vendor, Model: p.Model, Kind: p.Kind}
		if any(p.FirmwareFields) {
			d.Firmware = p.Firmware
		}
		return d, true
	case any(p.VendorFields):
		// The kind is the vendor rule's, which may be no more than
		// "device": a file naming only the vendor is checked by vendor.
		return SourceDevice{Vendor: p.Vendor}, true
	}
	return SourceDevice{}, false
}

// truthOf is the DeviceTruth of a file of format f of the scanned sources.
func truthOf(f banner.Format, sources []scanned) (DeviceTruth, error) {
	profiles := DeviceProfiles()
	expected := make([]SourceDevice, len(profiles))
	identifies := make([]bool, len(profiles))
	for i, p := range profiles {
		has, err := carried(f, p)
		if err != nil {
			return DeviceTruth{}, err
		}
		expected[i], identifies[i] = expect(p, has)
	}
	truth := DeviceTruth{Sources: map[string]SourceDevice{}, Decoys: []string{}, Models: []ModelCount{}}
	counts := map[ModelCount]int{}
	for _, s := range sources {
		if s.decoy {
			truth.Decoys = append(truth.Decoys, s.addr.String())
			continue
		}
		var named []int // the profiles this file identifies by model
		var vendorOnly []int
		for _, p := range s.profiles {
			switch {
			case identifies[p] && expected[p].Model != "":
				named = append(named, p)
			case identifies[p]:
				vendorOnly = append(vendorOnly, p)
			}
		}
		var d SourceDevice
		switch {
		case len(named) == 2:
			both := []string{profiles[named[0]].Vendor + " " + profiles[named[0]].Model, profiles[named[1]].Vendor + " " + profiles[named[1]].Model}
			slices.Sort(both)
			truth.Sources[s.addr.String()] = SourceDevice{Conflict: true, Both: both}
			continue
		case len(named) == 1:
			d = expected[named[0]]
		case len(vendorOnly) == 1:
			d = expected[vendorOnly[0]]
		default: // nothing identified, or two vendors named without a model: no expectation to hold
			if len(vendorOnly) == 0 {
				continue
			}
			truth.Sources[s.addr.String()] = SourceDevice{Conflict: true}
			continue
		}
		truth.Sources[s.addr.String()] = d
		counts[ModelCount{Vendor: d.Vendor, Model: d.Model, Kind: d.Kind}]++
	}
	for m, n := range counts {
		m.Sources = n
		truth.Models = append(truth.Models, m)
	}
	slices.SortFunc(truth.Models, func(a, b ModelCount) int {
		if a.Sources != b.Sources {
			return b.Sources - a.Sources
		}
		if c := strings.Compare(a.Vendor, b.Vendor); c != 0 {
			return c
		}
		return strings.Compare(a.Model, b.Model)
	})
	return truth, nil
}

// addrKey is an address as a number to hash.
func addrKey(a netip.Addr) uint64 {
	b := a.As16()
	var k uint64
	for i, x := range b {
		k ^= uint64(x) << (8 * (i % 8))
		if i%8 == 7 {
			k = geoHash(k)
		}
	}
	return k
}

// BannerFiles names the files WriteBanners writes, by format.
var BannerFiles = map[banner.Format]string{
	banner.FormatZgrab2:  "banners.zgrab2.json",
	banner.FormatShodan:  "banners.shodan.json.gz",
	banner.FormatCensys:  "banners.censys.json",
	banner.FormatNmap:    "banners.nmap.xml",
	banner.FormatMasscan: "banners.masscan.json",
}

// DeviceTruthFile is the file of the DeviceTruths WriteBanners writes,
// an object keyed by format.
const DeviceTruthFile = "devices-truth.json"

// WriteBanners writes into dir (created if missing) the banners of the
// truth's sources (sourceBanners) in every format, and the DeviceTruth of
// each file, keyed by format, as JSON.
func WriteBanners(dir string, t *Truth) (map[banner.Format]DeviceTruth, error) {
	recs, sources := sourceBanners(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	truths := map[banner.Format]DeviceTruth{}
	for f, name := range BannerFiles {
		if err := writeBannerFile(filepath.Join(dir, name), f, recs); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		truth, err := truthOf(f, sources)
		if err != nil {
			return nil, err
		}
		truths[f] = truth
	}
	data, err := json.MarshalIndent(truths, "", "  ")
	if err != nil {
		return nil, err
	}
	return truths, os.WriteFile(filepath.Join(dir, DeviceTruthFile), append(data, '\n'), 0o644)
}

func writeBannerFile(path string, f banner.Format, recs []banner.Record) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	var w io.Writer = file
	var gz *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		gz = gzip.NewWriter(file)
		w = gz
	}
	bw, err := banner.NewWriter(w, f)
	if err != nil {
		file.Close()
		return err
	}
	for i := range recs {
		// A record the format has no place for is left out, as a real
		// scan in that format would not have it.
		if err := bw.Write(&recs[i]); err != nil && !errors.Is(err, banner.ErrNotCarried) {
			file.Close()
			return err
		}
	}
	err = bw.Close()
	if gz != nil {
		err = errors.Join(err, gz.Close())
	}
	return errors.Join(err, file.Close())
}
