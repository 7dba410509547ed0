package store

import (
	"slices"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// A source's verdict over a period says whether its traffic is wanted
// research, an attack, or neither known. The rules, in order:
//
//   - benign: the source is on a research-scanner list (internal/scanners:
//     MISP warninglists of Censys, Shodan, Shadowserver, Rapid7... or the
//     operator's own), as the lists in service said when its last packet
//     of the period arrived. A listed scanner that probes exploit ports is
//     still the listed scanner.
//   - malicious: the source earned the mirai tag (fingerprint.SourceEvidence:
//     Mirai's scanner marks every probe), or it probed a port that only
//     known IoT exploits use (ExploitPorts).
//   - unknown: anything else — most sources: a darknet cannot tell a
//     scanner's intent from its headers alone.
const (
	VerdictBenign    = "benign"
	VerdictMalicious = "malicious"
	VerdictUnknown   = "unknown"
)

// Verdicts names the verdicts, as ParseVerdict accepts them.
var Verdicts = []string{VerdictBenign, VerdictMalicious, VerdictUnknown}

// ParseVerdict checks a verdict filter ("" takes every source).
func ParseVerdict(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || slices.Contains(Verdicts, s) {
		return s, nil
	}
	return "", paramErr("verdict", "verdict %q: want one of %s", s, strings.Join(Verdicts, ", "))
}

// ExploitPort is a destination port that only a known IoT exploit probes,
// with the exploit it betrays.
type ExploitPort struct {
	Port    record.PortKey
	Exploit string
}

// ExploitPorts are the ports of the malicious rule. No service that a
// darknet address could be mistaken for listens on them; scanning them
// is the first step of the exploit.
var ExploitPorts = []ExploitPort{
	{record.PortKey{Protocol: record.ProtoTCP, Port: 37215, HasPort: true}, "Huawei HG532 UPnP, CVE-2017-17215 (Satori, Mirai variants)"},
	{record.PortKey{Protocol: record.ProtoTCP, Port: 52869, HasPort: true}, "Realtek SDK miniigd UPnP, CVE-2014-8361 (Mirai variants)"},
	{record.PortKey{Protocol: record.ProtoTCP, Port: 7547, HasPort: true}, "TR-064 on TR-069 CPE management, CVE-2016-10372 (Mirai, 2016)"},
}

// ExploitSlots are the portcount slots of ExploitPorts.
func ExploitSlots() []int32 {
	out := make([]int32, len(ExploitPorts))
	for i, e := range ExploitPorts {
		out[i] = int32(portcount.Slot(e.Port))
	}
	return out
}

// Judge returns the verdict of a source and its reason, from the labels
// of the lists that hold it, its tags (by evidence) and the exploit slots
// it probed.
func Judge(scanner string, tags []string, exploitSlots []int32) (verdict, reason string) {
	if scanner != "" {
		return VerdictBenign, "on the research-scanner list " + scanner
	}
	var why []string
	if slices.Contains(tags, record.TagMirai.String()) {
		why = append(why, "Mirai fingerprint")
	}
	for _, slot := range exploitSlots {
		label := portcount.Key(uint32(slot)).Label()
		for _, e := range ExploitPorts {
			if e.Port.Label() == label {
				why = append(why, "probed "+label+" ("+e.Exploit+")")
			}
		}
	}
	if len(why) > 0 {
		return VerdictMalicious, strings.Join(why, "; ")
	}
	return VerdictUnknown, ""
}
