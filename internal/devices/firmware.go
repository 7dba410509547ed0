package devices

import (
	"regexp"
	"strings"
	"time"
)

// release is one firmware version's publication date as its vendor gave
// it.
type release struct {
	vendor, model, firmware string // model "": every model of the vendor
	date                    string // YYYY-MM-DD
	source                  string
}

// releases is the table of firmware release dates, from the vendors'
// release notes; each entry names its source. It is short on purpose: a
// date nobody published is not written here.
var releases = []release{
	{"MikroTik", "RouterOS", "6.42.1", "2018-04-23",
		"MikroTik changelog \"What's new in 6.42.1 (2018-Apr-23)\", the release that fixed the Winbox flaw CVE-2018-14847 (mikrotik.com/download/changelogs)"},
	{"MikroTik", "RouterOS", "7.1", "2021-12-01",
		"MikroTik changelog \"What's new in 7.1 (2021-Dec-01)\", the first stable RouterOS v7 (mikrotik.com/download/changelogs)"},
}

// buildDate finds the date TP-Link and others write into a version
// ("1.1.2 Build 20220113 rel.54789").
var buildDate = regexp.MustCompile(`(?i)\bBuild[ _]?(\d{8})\b`)

// ReleaseDate returns when a firmware version was released, false when
// that is not known; it never guesses. The vendor's published date (the
// table above) comes first. Otherwise a build date the version carries
// stands for it: a build is released days or weeks after it is built, so
// the build date is the earliest the firmware can have been installed —
// the question a darknet report asks ("was it patched?") — and no later
// than the true release date.
func ReleaseDate(vendor, model, firmware string) (time.Time, bool) {
	vendor, firmware = NormalizeVendor(vendor), strings.TrimSpace(firmware)
	if firmware == "" {
		return time.Time{}, false
	}
	for _, r := range releases {
		if r.vendor == vendor && (r.model == "" || foldKey(r.model) == foldKey(model)) && r.firmware == firmware {
			t, err := time.Parse(time.DateOnly, r.date)
			return t, err == nil
		}
	}
	if m := buildDate.FindStringSubmatch(firmware); m != nil {
		t, err := time.Parse("20060102", m[1])
		if err == nil && t.Year() >= 1990 {
			return t, true
		}
	}
	return time.Time{}, false
}
