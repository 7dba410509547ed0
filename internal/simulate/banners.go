package simulate

import (
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

// DeviceTruth is what a banner scan of a simulated capture's sources
// shows, and the attribution a correct importer gives: the expected
// device of every source that answered, and the expected model table.
type DeviceTruth struct {
	// Sources is keyed by address; a source that answered with a decoy
	// page is absent (it must get no device).
	Sources map[string]SourceDevice `json:"sources"`
	// Decoys are the sources that answered with a decoy page.
	Decoys []string `json:"decoys"`
	// Models are the device models with their sources, by sources
	// descending, then vendor and model; the conflicting sources count
	// under neither of their models.
	Models []ModelCount `json:"models"`
}

// SourceDevice is a source's expected device. A Conflict source answered
// as the two devices of Both, and its attribution must say conflict.
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

// SourceBanners returns the banners a scan of the truth's sources would
// record at the end of the run, one Record per service, in address order,
// and the attribution they call for.
func SourceBanners(t *Truth) ([]banner.Record, DeviceTruth) {
	profiles := DeviceProfiles()
	var devs, decoys []int
	for i, p := range profiles {
		if p.Model == "" {
			decoys = append(decoys, i)
		} else {
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
	truth := DeviceTruth{Sources: map[string]SourceDevice{}, Decoys: []string{}, Models: []ModelCount{}}
	counts := map[ModelCount]int{}
	var recs []banner.Record
	seen := t.End.Add(-time.Hour).UTC()
	add := func(a netip.Addr, p DeviceProfile, at time.Time) {
		for _, svc := range p.Services {
			r := svc
			r.Addr, r.Time = a, at
			r.TLS.SANs = slices.Clone(svc.TLS.SANs)
			recs = append(recs, r)
		}
	}
	for _, a := range addrs {
		h := geoHash(addrKey(a) ^ t.Seed*0x9e3779b97f4a7c15)
		x := int(h % 1000)
		pick := func(salt uint64, from []int) DeviceProfile {
			return profiles[from[int(geoHash(h+salt)%uint64(len(from)))]]
		}
		switch {
		case x < devicePerMille:
			p := pick(1, devs)
			add(a, p, seen)
			truth.Sources[a.String()] = SourceDevice{Vendor: p.Vendor, Model: p.Model, Kind: p.Kind, Firmware: p.Firmware}
			counts[ModelCount{Vendor: p.Vendor, Model: p.Model, Kind: p.Kind}]++
		case x < devicePerMille+decoyPerMille:
			add(a, pick(2, decoys), seen)
			truth.Decoys = append(truth.Decoys, a.String())
		case x < devicePerMille+decoyPerMille+natPerMille:
			p, q := pick(3, devs), pick(4, devs)
			for q.Vendor == p.Vendor && q.Model == p.Model {
				h++
				q = pick(4, devs)
			}
			add(a, p, seen)
			add(a, q, seen.Add(-24*time.Hour))
			both := []string{p.Vendor + " " + p.Model, q.Vendor + " " + q.Model}
			slices.Sort(both)
			truth.Sources[a.String()] = SourceDevice{Conflict: true, Both: both}
		}
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
	return recs, truth
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

// DeviceTruthFile is the file of the DeviceTruth WriteBanners writes.
const DeviceTruthFile = "devices-truth.json"

// WriteBanners writes into dir (created if missing) the banners of the
// truth's sources (SourceBanners) in every format — each file alone calls
// for the whole attribution — and the DeviceTruth as JSON.
func WriteBanners(dir string, t *Truth) (DeviceTruth, error) {
	recs, truth := SourceBanners(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return truth, err
	}
	for f, name := range BannerFiles {
		if err := writeBannerFile(filepath.Join(dir, name), f, recs); err != nil {
			return truth, fmt.Errorf("%s: %w", name, err)
		}
	}
	data, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return truth, err
	}
	return truth, os.WriteFile(filepath.Join(dir, DeviceTruthFile), append(data, '\n'), 0o644)
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
		if err := bw.Write(&recs[i]); err != nil {
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
