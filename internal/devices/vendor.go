package devices

import (
	"strings"
	"unicode"
)

// vendorAliases maps a vendor's spelling, folded by foldKey, to the one
// spelling attributions use. Recog writes "TP-LINK", vendors' own pages
// "TP-Link"; a Japanese page names Logitec in katakana.
var vendorAliases = map[string]string{
	"tplink":             "TP-Link",
	"tplinktechnologies": "TP-Link",
	"mikrotik":           "MikroTik",
	"mikrotikls":         "MikroTik",
	"dlink":              "D-Link",
	"netgear":            "Netgear",
	"huawei":             "Huawei",
	"huaweitechnologies": "Huawei",
	"zte":                "ZTE",
	"ztecorporation":     "ZTE",
	"hikvision":          "Hikvision",
	"dahua":              "Dahua",
	"dahuatechnology":    "Dahua",
	"ubiquiti":           "Ubiquiti",
	"ubiquitinetworks":   "Ubiquiti",
	"ubnt":               "Ubiquiti",
	"asus":               "ASUS",
	"asustek":            "ASUS",
	"zyxel":              "Zyxel",
	"logitec":            "Logitec",
	"ロジテック":              "Logitec",
	"avtech":             "AVTECH",
	"realtek":            "Realtek",
	"linksys":            "Linksys",
	"ciscolinksys":       "Linksys",
	"synology":           "Synology",
	"qnap":               "QNAP",
	"buffalo":            "Buffalo",
	"necplatforms":       "NEC",
	"nec":                "NEC",
}

// foldKey folds a vendor's or a model's name for comparison: lower case,
// letters and digits only ("TP-LINK" and "TP-Link" are "tplink").
func foldKey(name string) string {
	var b strings.Builder
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// NormalizeVendor returns the one spelling of a vendor: the alias table's,
// or the name as written (trimmed) when the table does not know it.
func NormalizeVendor(name string) string {
	if v, ok := vendorAliases[foldKey(name)]; ok {
		return v
	}
	return strings.TrimSpace(name)
}
