package main

import (
	"cmp"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/web/webtest"
)

// Hostile banner values: a page that put them in as markup would load
// /x (a console error) and run the handler (were the CSP to allow it).
const (
	hostileTitle    = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 1">Archer AX50`
	hostileFirmware = `V5.5.0 <img src=x onerror="window.__pwned = 1">`
)

// The devices store's days: the scans from 2026-08-10 to 12, and one
// source nothing identifies alone on 2026-08-05.
const (
	devicesPeriod = "from=2026-08-10&to=2026-08-12"
	unknownDay    = "2026-08-05"
)

// devicesDB stores two sensors, nine sources' SYNs and the attributions
// of six of them, with their evidence: three TP-Link Archer AX50 (two on
// a firmware whose release date is known, one on none), two MikroTik
// RouterOS (a version without a date) and a Hikvision camera whose
// evidence conflicts and whose firmware is hostile; the TP-Link's
// title banner is hostile too.
func devicesDB(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	db := filepath.Join(t.TempDir(), "devices.duckdb")
	st, err := duckdb.Open(ctx, db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids, err := st.PutSensors(ctx, []fleet.Sensor{
		{Name: "jp-1", Group: "Japan", Country: "JP", Addresses: []string{"198.18.1.0/24"}},
		{Name: "de-1", Group: "Europe", Country: "DE", Addresses: []string{"198.19.1.0/24"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	day0 := time.Date(2026, 8, 10, 0, 0, 0, 0, time.UTC)
	released := time.Date(2020, 9, 15, 0, 0, 0, 0, time.UTC)
	const tplinkFW = "1.0.11 Build 20200915 rel.67051"
	sources := []struct {
		addr, country string
		mirai         bool
		dev           store.Device // Vendor "": not identified
	}{
		{"192.0.2.10", "JP", true, store.Device{Vendor: "TP-Link", Model: "Archer AX50", Kind: "router", Firmware: tplinkFW, Released: released, Rule: "tplink.title"}},
		{"192.0.2.11", "JP", true, store.Device{Vendor: "TP-Link", Model: "Archer AX50", Kind: "router", Firmware: tplinkFW, Released: released, Rule: "tplink.title"}},
		{"192.0.2.12", "CN", true, store.Device{Vendor: "TP-Link", Model: "Archer AX50", Kind: "router", Rule: "tplink.cert"}},
		{"192.0.2.20", "BR", false, store.Device{Vendor: "MikroTik", Model: "RouterOS", Kind: "router", Firmware: "6.48.6", Rule: "mikrotik.ssh"}},
		{"192.0.2.21", "", false, store.Device{Vendor: "MikroTik", Model: "RouterOS", Kind: "router", Firmware: "6.48.6", Rule: "mikrotik.ssh"}},
		{"192.0.2.30", "US", false, store.Device{Vendor: "Hikvision", Kind: "camera", Firmware: hostileFirmware, Rule: "hikvision.realm",
			Conflict: true, Alternatives: []string{"Dahua DVR"}}},
		{"192.0.2.40", "US", false, store.Device{}},
		{"192.0.2.41", "DE", true, store.Device{}},
	}
	dsts := []string{"198.18.1.7", "198.19.1.9"}
	ports := []uint16{23, 80, 8080, 37215}
	var (
		recs    []record.Record
		sensors []int32
		devs    []store.Device
		ev      []store.DeviceEvidence
	)
	add := func(src, country string, mirai bool, at time.Time, n int) {
		for i := range n {
			s := (n + i) % 2
			r := record.Record{
				Time: at.Add(time.Duration(i) * time.Minute).UnixNano(), Src: record.MustParseAddr(src), Dst: record.MustParseAddr(dsts[s]),
				IPVersion: 4, Protocol: record.ProtoTCP, TTL: 50, IPLen: 40, HasTransport: true,
				SrcPort: 40000, DstPort: ports[(i+len(src))%len(ports)], TCPFlags: record.FlagSYN, Seq: 1,
			}
			if mirai { // Mirai's marker: the sequence number is the destination
				r.Seq = r.Dst.Uint32()
			}
			r.Tags = fingerprint.Tag(&r)
			r.Origin.Country = record.CountryOf(country)
			recs, sensors = append(recs, r), append(sensors, ids[s])
		}
	}
	for i, src := range sources {
		for day := range 3 {
			add(src.addr, src.country, src.mirai, day0.Add(time.Duration(24*day+i+1)*time.Hour), 2+i%3)
		}
		if src.dev.Vendor == "" {
			continue
		}
		d := src.dev
		d.Addr, d.Confidence, d.Evidence, d.Attributed = netip.MustParseAddr(src.addr), 0.9, 1, day0
		if d.Alternatives == nil {
			d.Alternatives = []string{}
		}
		value := "Archer AX50"
		if i == 0 {
			value, d.Evidence = hostileTitle, 2
			ev = append(ev, store.DeviceEvidence{Addr: d.Addr, Port: 443, Transport: "tcp", Seen: day0.Add(-48 * time.Hour), Source: "shodan", File: "shodan.json.gz",
				Rule: "tplink.cert", Field: "tls.subject", Value: "CN=Archer AX50", Vendor: d.Vendor, Model: d.Model, Kind: d.Kind, Confidence: 0.8, Imported: day0})
		}
		ev = append(ev, store.DeviceEvidence{Addr: d.Addr, Port: 80, Transport: "tcp", Seen: day0.Add(-24 * time.Hour), Source: "zgrab2", File: "scan.json",
			Rule: d.Rule, Field: "http.title", Value: value, Vendor: d.Vendor, Model: d.Model, Kind: d.Kind, Firmware: d.Firmware, Confidence: 0.9, Imported: day0})
		devs = append(devs, d)
	}
	add("192.0.2.50", "FR", false, time.Date(2026, 8, 5, 9, 0, 0, 0, time.UTC), 3)
	if err := st.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutDeviceEvidence(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := st.PutDevices(ctx, devs); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return db
}

// devicesTableJS reads the devices table as text, a firmware cell as
// its versions joined with " | ".
const devicesTableJS = `[...document.querySelectorAll('#devices tbody tr')].map((tr) => [...tr.children].map((td) => {
  const fw = [...td.querySelectorAll('.fw')];
  return fw.length ? fw.map((e) => e.textContent).join(' | ') : td.textContent;
}))`

// devicesRows are the rows the devices table shows for an API answer.
func devicesRows(ans api.DevicesResponse) [][]string {
	minute := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }
	rows := [][]string{}
	for _, m := range ans.Models {
		var fw, ports, countries []string
		for _, f := range m.Firmware {
			v := cmp.Or(f.Version, "unknown")
			if f.Released != nil {
				v += " (released " + f.Released.Format(time.DateOnly) + ")"
			}
			fw = append(fw, v+": "+analyze.Thousands(f.Sources))
		}
		for _, p := range m.Ports {
			ports = append(ports, fmt.Sprintf("%s (%d)", p.Port, p.Sources))
		}
		for _, c := range m.Countries {
			countries = append(countries, fmt.Sprintf("%s (%d)", cmp.Or(c.Country, "unknown"), c.Sources))
		}
		rows = append(rows, []string{fmt.Sprint(m.Rank), m.Vendor, cmp.Or(m.Model, "—"), m.Kind, analyze.Thousands(m.Sources), analyze.Thousands(m.Packets),
			strings.Join(fw, " | "), strings.Join(ports, ", "), strings.Join(countries, ", "), minute(m.FirstSeen), minute(m.LastSeen)})
	}
	return rows
}

// checkDevicesTable compares the devices page's table with the API's
// answer to the same question and returns the answer.
func checkDevicesTable(t *testing.T, b *webtest.Browser, query string) api.DevicesResponse {
	t.Helper()
	ans := apiJSON[api.DevicesResponse](t, b, "/api/v1/devices?top=20&"+query)
	got := webtest.Eval[[][]string](t, b, devicesTableJS)
	if diff := gocmp.Diff(got, devicesRows(ans)); diff != "" {
		t.Errorf("/devices?%s: the table (-) is not the API's answer (+):\n%s", query, diff)
	}
	return ans
}

// TestDevicesInBrowser opens the devices page, the sources page and the
// source page over a store of a few identified sources: the table equals
// the API, the chart has data, the vendor, group and tag filters narrow
// both, a period without devices says how to get some, the sources show
// their device with the conflict marker, the source page shows the
// attribution and its evidence, and hostile banner values are text.
func TestDevicesInBrowser(t *testing.T) {
	b := webtest.New(t)
	base := startServe(t, "--now", dashboardNow, "--db", devicesDB(t), "--listen", "127.0.0.1:0")
	text := func(sel string) string {
		return webtest.Eval[string](t, b, `(document.querySelector(`+jsString(sel)+`) || {}).textContent`)
	}
	shown := func(sel string) bool {
		return webtest.Eval[bool](t, b, `(() => { const e = document.querySelector(`+jsString(sel)+`); return !!e && getComputedStyle(e).display !== 'none'; })()`)
	}
	noMarkup := func(page, sel string) {
		t.Helper()
		if n := webtest.Eval[int](t, b, `document.querySelectorAll(`+jsString(sel+" img, "+sel+" script")+`).length`); n != 0 {
			t.Errorf("%s: %d elements made of banner values in %s", page, n, sel)
		}
		if webtest.Eval[bool](t, b, `'__pwned' in window`) {
			t.Errorf("%s: a banner value ran as script", page)
		}
	}

	// The default view (the last 30 days) holds every scan.
	b.Open(t, base+"/devices")
	b.CheckCharts(t, "/devices")
	checkDevicesTable(t, b, "from=2026-07-21&to=2026-08-19")
	b.CheckConsole(t, "/devices")

	b.Open(t, base+"/devices?"+devicesPeriod)
	charts := b.CheckCharts(t, "/devices "+devicesPeriod)
	if len(charts) != 1 || charts[0].Series != 3 || charts[0].Points != 9 {
		t.Errorf("/devices: charts %+v, want one of 3 models × 3 days", charts)
	}
	ans := checkDevicesTable(t, b, devicesPeriod)
	if ans.Sources != 8 || ans.Identified != 6 || ans.Conflicts != 1 || len(ans.Models) != 3 {
		t.Fatalf("the API's devices of %s: %+v, want 6 of 8 sources identified in 3 models, 1 conflict: the test is wrong", devicesPeriod, ans.DeviceTable)
	}
	if got, want := text("#devices-summary"), "6 of 8 sources identified (75%), 1 with conflicting evidence"; got != want {
		t.Errorf("/devices: summary %q, want %q", got, want)
	}
	if got := text("#devices tbody tr:nth-child(3) td:nth-child(7)"); got != hostileFirmware+": 1" {
		t.Errorf("/devices: the hostile firmware shows as %q, want its text", got)
	}
	if shown("#devices-empty") || !shown("#devices") {
		t.Errorf("/devices: the empty state shows (%v) or the table is hidden (%v)", shown("#devices-empty"), !shown("#devices"))
	}
	noMarkup("/devices", "#devices")
	b.Screenshot(t, "devices")

	// A vendor links to its models.
	b.Click(t, `#devices tbody tr:nth-child(2) td:nth-child(2) a`)
	b.WaitReady(t)
	if loc := b.Location(t); !strings.Contains(loc, "vendor=MikroTik") || !strings.Contains(loc, devicesPeriod) {
		t.Errorf("the vendor MikroTik links to %s, want its models in the period", loc)
	}
	if got := checkDevicesTable(t, b, devicesPeriod+"&vendor=MikroTik"); len(got.Models) != 1 {
		t.Errorf("the models of MikroTik: %+v", got.Models)
	}
	b.CheckCharts(t, "/devices of MikroTik")
	// The group filter, chosen, and the tag filter.
	b.Follow(t, "choose a group", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.querySelector('#group'); s.value = 'Japan'; s.dispatchEvent(new Event('change')); })()`))
	b.WaitReady(t)
	if loc := b.Location(t); !strings.Contains(loc, "group=Japan") || !strings.Contains(loc, "vendor=MikroTik") {
		t.Errorf("after choosing the group Japan the URL is %s", loc)
	}
	checkDevicesTable(t, b, devicesPeriod+"&vendor=MikroTik&group=Japan")
	b.Open(t, base+"/devices?"+devicesPeriod+"&tag=mirai")
	if got := checkDevicesTable(t, b, devicesPeriod+"&tag=mirai"); len(got.Models) != 1 || got.Models[0].Vendor != "TP-Link" || got.Sources != 4 {
		t.Errorf("the devices of the Mirai sources: %+v, want the TP-Link's among 4 sources", got.DeviceTable)
	}
	if got := webtest.Eval[string](t, b, `document.querySelector('#tag').value`); got != "mirai" {
		t.Errorf("/devices?tag=mirai: the tag filter shows %q", got)
	}
	b.CheckConsole(t, "/devices filters")

	// A period without devices says how to get some.
	b.Open(t, base+"/devices?period="+unknownDay)
	b.CheckNoData(t, "/devices of "+unknownDay)
	if !shown("#devices-empty") || shown("#devices") {
		t.Errorf("/devices of %s: the empty state is hidden (%v) or the table shows (%v)", unknownDay, !shown("#devices-empty"), shown("#devices"))
	}
	if got := text("#devices-empty"); !strings.Contains(got, "No device identified among the 1 source of this period: import banner scans with nightjar devices import --db PATH FILE...") {
		t.Errorf("/devices of %s: empty state %q, want how to import banners", unknownDay, got)
	}
	if got := text("#devices-summary"); got != "0 of 1 source identified (0%), 0 with conflicting evidence" {
		t.Errorf("/devices of %s: summary %q", unknownDay, got)
	}
	b.Screenshot(t, "devices-none")
	b.CheckConsole(t, "/devices of "+unknownDay)

	// The sources show their device.
	b.Open(t, base+"/sources?"+devicesPeriod)
	top := apiJSON[api.TopSourcesResponse](t, b, "/api/v1/top-sources?top=50&"+devicesPeriod)
	var want []string
	for _, s := range top.Sources {
		label := "—"
		if d := s.Device; d != nil {
			label = store.ModelLabel(d.Vendor, d.Model)
			if d.Conflict {
				label += " ⚠"
			}
		}
		want = append(want, label)
	}
	got := webtest.Eval[[]string](t, b, `[...document.querySelectorAll('#sources tbody tr td:nth-child(13)')].map((td) => td.textContent)`)
	if diff := gocmp.Diff(got, want); diff != "" || len(want) != 8 {
		t.Errorf("/sources: the devices (-) are not the API's (+):\n%s", diff)
	}
	if title := webtest.Eval[string](t, b, `document.querySelector('#sources .conflict').title`); !strings.Contains(title, "conflicting evidence") {
		t.Errorf("/sources: the conflict marker's title %q", title)
	}
	noMarkup("/sources", "#sources")
	b.Screenshot(t, "sources-devices")
	b.CheckConsole(t, "/sources")

	// The source page: the attribution and its evidence.
	facts := func() map[string]string {
		return webtest.Eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll('#device-card dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))`)
	}
	b.Open(t, base+"/sources/192.0.2.10?"+devicesPeriod)
	if diff := gocmp.Diff(facts(), map[string]string{"Vendor": "TP-Link", "Model": "Archer AX50", "Kind": "router",
		"Firmware": "1.0.11 Build 20200915 rel.67051 (released 2020-09-15)", "Confidence": "90%", "Deciding rule": "tplink.title",
		"Conflict": "none: the evidence names one model", "Evidence": "2 banner matches, attributed 2026-08-10 00:00"}); diff != "" {
		t.Errorf("/sources/192.0.2.10: the device card (-got, +want):\n%s", diff)
	}
	evidence := webtest.Eval[[][]string](t, b, `[...document.querySelectorAll('#device-evidence tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent))`)
	if diff := gocmp.Diff(evidence, [][]string{
		{"443/tcp", "2026-08-08 00:00", "shodan", "shodan.json.gz", "tls.subject", "CN=Archer AX50", "TP-Link Archer AX50", "tplink.cert", "80%"},
		{"80/tcp", "2026-08-09 00:00", "zgrab2", "scan.json", "http.title", hostileTitle, "TP-Link Archer AX50", "tplink.title", "90%"},
	}); diff != "" {
		t.Errorf("/sources/192.0.2.10: the evidence (-got, +want):\n%s", diff)
	}
	noMarkup("/sources/192.0.2.10", "#device-panel")
	b.Screenshot(t, "source-device")
	b.CheckConsole(t, "/sources/192.0.2.10")

	b.Open(t, base+"/sources/192.0.2.30?"+devicesPeriod)
	f := facts()
	if f["Conflict"] != "⚠ the evidence also names Dahua DVR" || f["Model"] != "not known" || f["Firmware"] != hostileFirmware+" (release date not known)" {
		t.Errorf("/sources/192.0.2.30: the device card %q, want the conflict with Dahua DVR, no model and the hostile firmware as text", f)
	}
	noMarkup("/sources/192.0.2.30", "#device-panel")
	b.CheckConsole(t, "/sources/192.0.2.30")

	b.Open(t, base+"/sources/192.0.2.40?"+devicesPeriod)
	if got := text("#device-none"); !strings.Contains(got, "No device identified for this address: import banner scans with nightjar devices import") {
		t.Errorf("/sources/192.0.2.40: %q, want how to identify the device", got)
	}
	if shown("#device-evidence") {
		t.Error("/sources/192.0.2.40: an evidence table without evidence")
	}
	b.CheckConsole(t, "/sources/192.0.2.40")
	b.CheckRequestsLocal(t, base)
}
