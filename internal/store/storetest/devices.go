package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runDevices runs the conformance tests of device attribution.
func runDevices(t *testing.T, open Opener) {
	t.Run("device evidence and attributions", func(t *testing.T) { testDeviceEvidence(t, open(t)) })
	t.Run("devices equal a direct count", func(t *testing.T) { testDevices(t, open(t)) })
}

var addrCmp = gocmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// testDeviceEvidence: evidence is stored once however often it is put,
// read back in order, and attributions replace and delete.
func testDeviceEvidence(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	at := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	v6 := netip.MustParseAddr("fd00::1") // an address whose high half has its top bit set
	ev := []store.DeviceEvidence{
		{Addr: netip.MustParseAddr("192.0.2.9"), Port: 443, Transport: "tcp", Seen: at.Add(time.Hour), Source: "shodan", File: "a.json.gz",
			Rule: "tplink.cert", Field: "tls.subject", Value: "CN=Archer AX3000", Vendor: "TP-Link", Model: "Archer AX3000", Kind: "router", Confidence: 0.9, Imported: at},
		{Addr: netip.MustParseAddr("192.0.2.9"), Port: 80, Transport: "tcp", Seen: at, Source: "zgrab2", File: "b.json",
			Rule: "tplink.title", Field: "http.title", Value: "Archer AX3000 — ルーター", Vendor: "TP-Link", Model: "Archer AX3000", Kind: "router", Firmware: "1.0 Build 20220101", Confidence: 0.8, Imported: at},
		{Addr: v6, Port: 22, Transport: "tcp", Source: "nmap", File: "c.xml",
			Rule: "mikrotik.ssh", Field: "ssh", Value: "SSH-2.0-ROSSSH", Vendor: "MikroTik", Kind: "router", Confidence: 0.5, Imported: at},
	}
	n, err := s.PutDeviceEvidence(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("PutDeviceEvidence = %d new, want 3", n)
	}
	if n, err = s.PutDeviceEvidence(ctx, ev[:2]); err != nil || n != 0 {
		t.Errorf("PutDeviceEvidence again = %d, %v; want 0 new", n, err)
	}
	got, err := s.DeviceEvidence(ctx, []netip.Addr{v6, netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("192.0.2.10")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(got, []store.DeviceEvidence{ev[1], ev[0], ev[2]}, addrCmp); diff != "" {
		t.Errorf("DeviceEvidence (-got, +want):\n%s", diff)
	}
	if _, err := s.PutDeviceEvidence(ctx, []store.DeviceEvidence{{Rule: "x"}}); err == nil {
		t.Error("PutDeviceEvidence of evidence without an address: no error")
	}

	dev := store.Device{Addr: netip.MustParseAddr("192.0.2.9"), Vendor: "TP-Link", Model: "Archer AX3000", Kind: "router",
		Firmware: "1.0 Build 20220101", Released: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), Confidence: 0.95, Rule: "tplink.cert",
		Alternatives: []string{}, Evidence: 2, Attributed: at}
	mik := store.Device{Addr: v6, Vendor: "MikroTik", Kind: "router", Confidence: 0.5, Rule: "mikrotik.ssh", Conflict: true,
		Alternatives: []string{"Ubiquiti EdgeRouter", "Other Thing"}, Evidence: 1, Attributed: at}
	if err := s.PutDevices(ctx, []store.Device{dev, mik}); err != nil {
		t.Fatal(err)
	}
	gotDev, gotEv, ok, err := s.SourceDevice(ctx, dev.Addr)
	if err != nil || !ok {
		t.Fatalf("SourceDevice(%s) = ok %v, %v", dev.Addr, ok, err)
	}
	if diff := gocmp.Diff(gotDev, dev, addrCmp); diff != "" {
		t.Errorf("SourceDevice (-got, +want):\n%s", diff)
	}
	if len(gotEv) != 2 {
		t.Errorf("SourceDevice evidence: %d rows, want 2", len(gotEv))
	}
	if gotDev, _, _, _ = s.SourceDevice(ctx, v6); !gocmp.Equal(gotDev, mik, addrCmp) {
		t.Errorf("SourceDevice(%s) = %+v, want %+v", v6, gotDev, mik)
	}
	// A new attribution replaces the old; an empty vendor deletes it.
	dev.Model, dev.Firmware, dev.Released = "Archer AX50", "", time.Time{}
	if err := s.PutDevices(ctx, []store.Device{dev, {Addr: v6}}); err != nil {
		t.Fatal(err)
	}
	if gotDev, _, _, _ = s.SourceDevice(ctx, dev.Addr); !gocmp.Equal(gotDev, dev, addrCmp) {
		t.Errorf("SourceDevice after replacing = %+v, want %+v", gotDev, dev)
	}
	if _, _, ok, err := s.SourceDevice(ctx, v6); ok || err != nil {
		t.Errorf("SourceDevice after deleting = ok %v, %v", ok, err)
	}
}

// deviceSource is the test's own count of one source in a period.
type deviceSource struct {
	packets     uint64
	first, last time.Time
	country     string
	ports       map[string]bool
	mirai       uint64
}

// testDevices: the device tables of whole and partial periods, filtered
// by sensor, group, tag and vendor, equal a direct count of the
// records; the series and the source rows carry the devices.
func testDevices(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, threeSensors)
	if err != nil {
		t.Fatal(err)
	}
	dsts := []string{"198.18.1.1", "198.19.0.3", "198.18.2.7"}
	countries := []string{"JP", "US", "CN"}
	models := []store.Device{
		{Vendor: "TP-Link", Model: "Archer AX50", Kind: "router", Firmware: "1.0.11 Build 20200915 rel.67051", Released: time.Date(2020, 9, 15, 0, 0, 0, 0, time.UTC)},
		{Vendor: "TP-Link", Model: "Archer AX50", Kind: "router"},
		{Vendor: "MikroTik", Model: "RouterOS", Kind: "router", Firmware: "6.48.6"},
		{Vendor: "Hikvision", Kind: "camera", Conflict: true, Alternatives: []string{"Dahua DVR"}},
	}
	rng := rand.New(rand.NewPCG(13, 7))
	type rec struct {
		r      record.Record
		sensor int
	}
	var all []rec
	var recs []record.Record
	var sensors []int32
	var devs []store.Device
	deviceOf := map[netip.Addr]store.Device{}
	day0 := time.Date(2024, 7, 14, 0, 0, 0, 0, time.UTC)
	for src := range 40 {
		addr := fmt.Sprintf("192.0.2.%d", src+1)
		if src%10 == 9 {
			addr = fmt.Sprintf("2001:db8:1::%x", src)
		}
		a := netip.MustParseAddr(addr)
		if src%5 != 4 { // a fifth of the sources have no device
			d := models[src%len(models)]
			d.Addr, d.Rule, d.Confidence, d.Evidence, d.Attributed = a, "rule", 0.9, 1, day0
			if d.Alternatives == nil {
				d.Alternatives = []string{}
			}
			devs, deviceOf[a] = append(devs, d), d
		}
		for day := range 2 {
			for range 1 + rng.IntN(5) {
				sensor := rng.IntN(3)
				dst := dsts[sensor]
				if a.Is6() {
					sensor, dst = 1, "2001:db8::7"
				}
				r := syn(addr, dst, []uint16{23, 80, 445, 8080, 37215}[rng.IntN(5)],
					day0.Add(time.Duration(day)*24*time.Hour+time.Duration(rng.IntN(86400))*time.Second))
				if src%3 == 0 && a.Is4() { // Mirai's marker: seq == destination
					r.Seq = r.Dst.Uint32()
					r.Tags = fingerprint.Tag(&r)
				}
				r.Origin.Country = record.CountryOf(countries[(src+day)%3])
				recs, sensors = append(recs, r), append(sensors, ids[sensor])
				all = append(all, rec{r, sensor})
			}
		}
	}
	if err := s.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.PutDevices(ctx, devs); err != nil {
		t.Fatal(err)
	}

	// want counts the model's sources in p at the given sensors (nil:
	// all) that earned tag (0: any), of the vendor ("": any).
	want := func(p period.Period, atSensor func(int) bool, tag record.Tags, vendor string) store.DeviceTable {
		srcs := map[netip.Addr]*deviceSource{}
		for _, x := range all {
			at := time.Unix(0, x.r.Time).UTC()
			if !p.Contains(at) || (atSensor != nil && !atSensor(x.sensor)) {
				continue
			}
			a := x.r.Src.Netip()
			ds := srcs[a]
			if ds == nil {
				ds = &deviceSource{first: at, last: at, ports: map[string]bool{}}
				srcs[a] = ds
			}
			ds.packets++
			if x.r.Tags.Has(record.TagMirai) {
				ds.mirai++
			}
			if !at.After(ds.first) {
				ds.first = at
			}
			if !at.Before(ds.last) {
				ds.last, ds.country = at, x.r.Origin.Country.String()
			}
			ds.ports[x.r.Key().Label()] = true
		}
		out := store.DeviceTable{Models: []store.DeviceModel{}}
		type key struct{ v, m, k string }
		byModel := map[key]*store.DeviceModel{}
		portSrc := map[key]map[string]uint64{}
		ctrySrc := map[key]map[string]uint64{}
		fwSrc := map[key]map[string]*store.FirmwareCount{}
		for a, ds := range srcs {
			if tag != 0 && !fingerprint.SourceTags(ds.packets, &[record.NumTags]uint64{ds.mirai}).Has(tag) {
				continue
			}
			out.Sources++
			d, ok := deviceOf[a]
			if !ok {
				continue
			}
			out.Identified++
			if d.Conflict {
				out.Conflicts++
			}
			if vendor != "" && !strings.EqualFold(vendor, d.Vendor) {
				continue
			}
			k := key{d.Vendor, d.Model, d.Kind}
			m := byModel[k]
			if m == nil {
				m = &store.DeviceModel{Vendor: d.Vendor, Model: d.Model, Kind: d.Kind, FirstSeen: ds.first, LastSeen: ds.last}
				byModel[k], portSrc[k], ctrySrc[k], fwSrc[k] = m, map[string]uint64{}, map[string]uint64{}, map[string]*store.FirmwareCount{}
			}
			m.Sources++
			m.Packets += ds.packets
			m.FirstSeen, m.LastSeen = minTime(m.FirstSeen, ds.first), maxTime(m.LastSeen, ds.last)
			for p := range ds.ports {
				portSrc[k][p]++
			}
			ctrySrc[k][ds.country]++
			f := fwSrc[k][d.Firmware]
			if f == nil {
				f = &store.FirmwareCount{Version: d.Firmware}
				if !d.Released.IsZero() {
					r := d.Released
					f.Released = &r
				}
				fwSrc[k][d.Firmware] = f
			}
			f.Sources++
		}
		for k, m := range byModel {
			for p, n := range portSrc[k] {
				m.Ports = append(m.Ports, store.PortSourceCount{Port: p, Sources: n})
			}
			slices.SortFunc(m.Ports, func(a, b store.PortSourceCount) int {
				return cmp.Or(cmp.Compare(b.Sources, a.Sources), strings.Compare(a.Port, b.Port))
			})
			m.Ports = m.Ports[:min(len(m.Ports), store.DevicePorts)]
			for c, n := range ctrySrc[k] {
				m.Countries = append(m.Countries, store.CountrySources{Country: c, Sources: n})
			}
			slices.SortFunc(m.Countries, func(a, b store.CountrySources) int {
				return cmp.Or(cmp.Compare(b.Sources, a.Sources), strings.Compare(a.Country, b.Country))
			})
			for _, f := range fwSrc[k] {
				m.Firmware = append(m.Firmware, *f)
			}
			slices.SortFunc(m.Firmware, func(a, b store.FirmwareCount) int {
				return cmp.Or(cmp.Compare(b.Sources, a.Sources), strings.Compare(a.Version, b.Version))
			})
			out.Models = append(out.Models, *m)
		}
		store.RankDeviceModels(out.Models)
		return out
	}
	days := period.Period{Start: day0, End: day0.Add(48 * time.Hour)}
	partial := period.Period{Start: day0.Add(6 * time.Hour), End: day0.Add(30 * time.Hour)}
	for _, c := range []struct {
		name string
		q    store.DevicesQuery
		at   func(int) bool
		tag  record.Tags
	}{
		{name: "whole days", q: store.DevicesQuery{Period: days}},
		{name: "partial days", q: store.DevicesQuery{Period: partial}},
		{name: "one sensor", q: store.DevicesQuery{Period: days, Sensors: []string{"jp-2"}}, at: func(i int) bool { return i == 2 }},
		{name: "a group", q: store.DevicesQuery{Period: days, Groups: []string{"Japan"}}, at: func(i int) bool { return threeSensors[i].Group == "Japan" }},
		{name: "mirai sources", q: store.DevicesQuery{Period: days, Tag: "mirai"}, tag: record.TagMirai},
		{name: "mirai sources, partial", q: store.DevicesQuery{Period: partial, Tag: "mirai"}, tag: record.TagMirai},
		{name: "one vendor", q: store.DevicesQuery{Period: days, Vendor: "tp-link"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.q.N = 10
			got, err := s.Devices(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			w := want(c.q.Period, c.at, c.tag, c.q.Vendor)
			if w.Identified == 0 {
				t.Fatal("the model has no identified source: the test is wrong")
			}
			if diff := gocmp.Diff(got, w); diff != "" {
				t.Errorf("Devices (-got, +want):\n%s", diff)
			}
		})
	}
	if got, err := s.Devices(ctx, store.DevicesQuery{Period: days, N: 1}); err != nil || len(got.Models) != 1 {
		t.Errorf("Devices N 1 = %d models, %v", len(got.Models), err)
	}
	var pe *store.ParamError
	if _, err := s.Devices(ctx, store.DevicesQuery{Period: days, N: 5, Tag: "nosuchtag"}); !errors.As(err, &pe) {
		t.Errorf("Devices with an unknown tag: %v, want a ParamError", err)
	}
	if _, err := s.Devices(ctx, store.DevicesQuery{Period: days, N: 5, Sensors: []string{"nope"}}); !errors.Is(err, store.ErrUnknownSensor) {
		t.Errorf("Devices of an unknown sensor: %v, want ErrUnknownSensor", err)
	}

	// The series: each model's sources per day, from the same count.
	series, err := s.DeviceSeries(ctx, store.DeviceSeriesQuery{Period: days, N: 10})
	if err != nil {
		t.Fatal(err)
	}
	whole := want(days, nil, 0, "")
	wantSeries := store.NewDeviceSeries(days, "day", whole.Models)
	for _, b := range wantSeries.Buckets {
		day := want(period.Period{Start: b, End: b.Add(24 * time.Hour)}, nil, 0, "")
		for _, m := range day.Models {
			wantSeries.Add(b, m.Vendor, m.Model, m.Kind, m.Sources)
		}
	}
	if diff := gocmp.Diff(series, wantSeries); diff != "" {
		t.Errorf("DeviceSeries (-got, +want):\n%s", diff)
	}
	if _, err := s.DeviceSeries(ctx, store.DeviceSeriesQuery{Period: days, N: 10, Bucket: "week"}); !errors.As(err, &pe) {
		t.Errorf("DeviceSeries by week: %v, want a ParamError", err)
	}

	// Source rows carry their device.
	top, err := s.TopSources(ctx, store.TopSourcesQuery{Period: days, N: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range top {
		d, ok := deviceOf[netip.MustParseAddr(src.IP)]
		var wantLabel *store.DeviceLabel
		if ok {
			wantLabel = d.Label()
		}
		if diff := gocmp.Diff(src.Device, wantLabel, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("TopSources %s device (-got, +want):\n%s", src.IP, diff)
		}
	}
	// So do the events of the owners' reports.
	events, err := s.Events(ctx, store.EventsQuery{Period: days, Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	if err != nil {
		t.Fatal(err)
	}
	withDevice := 0
	for _, e := range events {
		d := deviceOf[e.Src]
		if e.DeviceVendor != d.Vendor || e.DeviceModel != d.Model {
			t.Errorf("event of %s: device %q %q, want %q %q", e.Src, e.DeviceVendor, e.DeviceModel, d.Vendor, d.Model)
		}
		if d.Vendor != "" {
			withDevice++
		}
	}
	if withDevice == 0 {
		t.Error("no event has a device: the test is wrong")
	}
	hist, err := s.SourceHistory(ctx, store.SourceHistoryQuery{Period: days, IP: devs[0].Addr})
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(hist.Device, devs[0].Label()); diff != "" {
		t.Errorf("SourceHistory device (-got, +want):\n%s", diff)
	}
}
