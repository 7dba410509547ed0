// Package recog converts Rapid7 recog fingerprint files (XML, BSD-2) into
// Nightjar device signatures: the fingerprints that name hardware (a
// hw.vendor, hw.product or hw.device, or an os.device of a device class)
// become rules of the banner field their file matches; those that name
// only software (service.*, an operating system) are skipped and counted.
// The shipped devices/signatures/recog.yaml is this conversion of the
// files in testdata/, which a test keeps equal (go generate rewrites it).
package recog

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/devices"
)

// Confidences of converted rules: below Nightjar's own model rules, and
// lower still when the fingerprint names only a vendor.
const (
	ModelConfidence  = 0.7
	VendorConfidence = 0.5
)

// fields maps a file's `matches` (its `protocol` when it has none, as
// telnet_banners.xml) to the banner field its fingerprints read.
var fields = map[string]banner.Field{
	"html_title":          banner.HTTPTitle,
	"http_header.server":  banner.HTTPServer,
	"http_header.wwwauth": banner.HTTPWWWAuthenticate,
	"x509.subject":        banner.TLSSubject,
	"x509.issuer":         banner.TLSIssuer,
	"favicon.md5":         banner.FaviconMD5,
	"ssh.banner":          banner.SSH,
	"telnet":              banner.Telnet,
	"ftp.banner":          banner.FTP,
}

// Greeting prefixes recog leaves out: its SSH fingerprints match the
// software version after "SSH-2.0-", its FTP fingerprints the text after
// the reply code; a banner record keeps the whole line.
var prefixes = map[banner.Field]string{
	banner.SSH: `SSH-[\d.]+-`,
	banner.FTP: `\d{3}[ -]`,
}

// ExamplePrefix is what a record's value has before the text of a recog
// example of field f.
func ExamplePrefix(f banner.Field) string {
	switch f {
	case banner.SSH:
		return "SSH-2.0-"
	case banner.FTP:
		return "220 "
	}
	return ""
}

// kinds maps recog's device classes to Nightjar's kinds; a class not
// listed is not one of a device (os.device) or is written in lower case
// (hw.device).
var kinds = map[string]string{
	"Router": "router", "Broadband Router": "router", "VPN": "router", "SD-WAN Appliance": "router",
	"WAP": "ap", "WLAN Repeater": "ap", "Wireless Controller": "ap",
	"DSL Modem": "cpe", "ADSL Modem": "cpe", "Cable Modem": "cpe", "DOCSIS Cable Modem": "cpe", "Powerline": "cpe",
	"IP Camera": "camera", "Web Cam": "camera", "DVR": "camera", "Cloud Network Video Recorder": "camera", "Video Encoder": "camera",
	"NAS": "nas", "Storage": "nas", "Storage Appliance": "nas",
	"Printer": "printer", "Multifunction Device": "printer", "Print Server": "printer",
	"Firewall": "firewall", "Security Appliance": "firewall", "IPS": "firewall",
	"Switch": "switch", "Hub": "switch",
	"VoIP": "voip", "VoIP Gateway": "voip", "SIP Gateway": "voip",
	"Lights Out Management": "bmc", "KVM": "kvm", "UPS": "ups", "Power Device": "power",
	"PLC": "ics", "HMI Controller": "ics", "Industrial Control": "ics", "Building Automation": "ics",
	"Device": "device", "Network Appliance": "device", "Appliance": "device",
	"Network Management Device": "device", "Device Server": "device", "Media Server": "device",
	"Video Conferencing": "device", "Test Instrument": "device", "Smart TV": "device", "IPTV": "device",
}

// Skip reasons.
const (
	SkipSoftware = "software"  // names no hardware
	SkipNoVendor = "no vendor" // hardware, but no fixed vendor
	SkipRegexp   = "regexp"    // does not compile with RE2
)

// Example is one of a fingerprint's <example>s: the value it must match
// and what the match must give.
type Example struct {
	Value string
	// Vendor is the example's hw.vendor, Model the model recog gives it
	// (its hw.product, or the product's template filled from its
	// attributes, or its hw.model when the fingerprint has no product);
	// "" when the example does not say.
	Vendor, Model string
}

// Failure is a hardware fingerprint whose pattern RE2 refuses.
type Failure struct {
	File    string
	Index   int
	Pattern string
	Err     error
}

// Result is a conversion: the rules, their examples, what was left out.
type Result struct {
	Rules    []devices.Rule
	Examples map[string][]Example // by rule ID
	// Fingerprints counts every fingerprint read, Skipped those not
	// converted by reason.
	Fingerprints int
	Skipped      map[string]int
	Failures     []Failure
}

type xmlFile struct {
	Matches      string           `xml:"matches,attr"`
	Protocol     string           `xml:"protocol,attr"`
	Fingerprints []xmlFingerprint `xml:"fingerprint"`
}

type xmlFingerprint struct {
	Pattern     string       `xml:"pattern,attr"`
	Flags       string       `xml:"flags,attr"`
	Description string       `xml:"description"`
	Examples    []xmlExample `xml:"example"`
	Params      []xmlParam   `xml:"param"`
}

type xmlExample struct {
	Text  string     `xml:",chardata"`
	Attrs []xml.Attr `xml:",any,attr"`
}

type xmlParam struct {
	Pos   int    `xml:"pos,attr"`
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Convert converts recog files, named as recog names them
// ("html_title.xml"), into one Result; the files are read in name order,
// so the result does not depend on how a directory lists them.
func Convert(files []NamedFile) (*Result, error) {
	res := &Result{Examples: map[string][]Example{}, Skipped: map[string]int{}}
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b NamedFile) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range files {
		if err := res.convertFile(f); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// NamedFile is a recog file's name and contents.
type NamedFile struct {
	Name string
	Data []byte
}

func (res *Result) convertFile(f NamedFile) error {
	var x xmlFile
	if err := xml.Unmarshal(f.Data, &x); err != nil {
		return fmt.Errorf("recog %s: %w", f.Name, err)
	}
	key := x.Matches
	if key == "" {
		key = x.Protocol
	}
	field, ok := fields[key]
	if !ok {
		return fmt.Errorf("recog %s: matches %q is no banner field this converter knows", f.Name, key)
	}
	stem := strings.TrimSuffix(f.Name, ".xml")
	for i, fp := range x.Fingerprints {
		res.Fingerprints++
		id := fmt.Sprintf("recog-%s-%d", strings.ReplaceAll(stem, "_", "-"), i+1)
		r, reason, err := convert(fp, field)
		if err != nil {
			res.Skipped[SkipRegexp]++
			res.Failures = append(res.Failures, Failure{File: f.Name, Index: i + 1, Pattern: fp.Pattern, Err: err})
			continue
		}
		if reason != "" {
			res.Skipped[reason]++
			continue
		}
		r.ID = id
		r.Source = "recog " + f.Name + ": " + strings.Join(strings.Fields(fp.Description), " ")
		res.Rules = append(res.Rules, r)
		product, _ := productParam(paramsOf(fp))
		for _, ex := range fp.Examples {
			e, err := example(ex, product)
			if err != nil {
				return fmt.Errorf("recog %s: fingerprint %d: %w", f.Name, i+1, err)
			}
			res.Examples[id] = append(res.Examples[id], e)
		}
	}
	return nil
}

// convert builds the rule of one fingerprint, or says why it has none.
func convert(fp xmlFingerprint, field banner.Field) (devices.Rule, string, error) {
	params := paramsOf(fp)
	hwDevice, hasHWDevice := params["hw.device"]
	_, hasHWVendor := params["hw.vendor"]
	_, hasHWProduct := params["hw.product"]
	osDevice := params["os.device"]
	_, osIsDevice := kinds[osDevice.Value]
	if !hasHWVendor && !hasHWProduct && !hasHWDevice && !osIsDevice {
		return devices.Rule{}, SkipSoftware, nil
	}
	vendor := fixed(params, "hw.vendor")
	if vendor == "" && !hasHWVendor {
		vendor = fixed(params, "os.vendor")
	}
	if vendor == "" {
		return devices.Rule{}, SkipNoVendor, nil
	}
	r := devices.Rule{Vendor: devices.NormalizeVendor(vendor), Field: field.String(), Confidence: VendorConfidence}
	class := hwDevice.Value
	if !hasHWDevice {
		class = osDevice.Value
	}
	r.Kind = kindOf(class)

	groups := map[int]string{}
	r.Model = modelOf(params, groups)
	// The firmware: the hardware's version, or the operating system's
	// when the vendor makes both (a router's OS is its firmware).
	fw, ok := params["hw.version"]
	if !ok && devices.NormalizeVendor(fixed(params, "os.vendor")) == r.Vendor {
		fw, ok = params["os.version"]
	}
	if _, taken := groups[fw.Pos]; ok && fw.Pos > 0 && !taken {
		groups[fw.Pos] = "firmware"
	}
	pattern, err := translate(fp.Pattern, fp.Flags, field, groups)
	if err != nil {
		return devices.Rule{}, "", err
	}
	r.Pattern = pattern
	if r.Model != "" || slices.Contains(slices.Collect(maps.Values(groups)), "model") {
		r.Confidence = ModelConfidence
	}
	return r, "", nil
}

// productParam is the parameter a fingerprint names the model by:
// hw.product, else hw.model.
func productParam(params map[string]xmlParam) (xmlParam, bool) {
	if p, ok := params["hw.product"]; ok {
		return p, true
	}
	p, ok := params["hw.model"]
	return p, ok
}

// modelOf returns the rule's model — fixed text, or a template of the
// groups it adds to groups — or "" with a "model" group, or "" for a
// vendor-only rule. Recog's "{hw.model}" in a value names another
// parameter's capture; it becomes the group hw_model and "${hw_model}".
func modelOf(params map[string]xmlParam, groups map[int]string) string {
	p, ok := productParam(params)
	switch {
	case !ok:
		return ""
	case p.Pos > 0:
		groups[p.Pos] = "model"
		return ""
	case !strings.Contains(p.Value, "{"):
		if productLine(p.Value) {
			return ""
		}
		return strings.TrimSpace(p.Value)
	}
	ok = true
	model := interpolation.ReplaceAllStringFunc(p.Value, func(ref string) string {
		name := ref[1 : len(ref)-1]
		q, found := params[name]
		if !found || q.Pos == 0 {
			ok = false
			return ref
		}
		group := strings.ReplaceAll(name, ".", "_")
		groups[q.Pos] = group
		return "${" + group + "}"
	})
	if !ok {
		clear(groups)
		return ""
	}
	return model
}

// productLine: a fixed product name without a digit ("Home Gateway",
// "PLAY", "Vigor") names a product line, not a model. Its rule names the
// vendor only, so that the model a title or a certificate gives (HG532e)
// joins it instead of conflicting with it.
func productLine(name string) bool {
	return !strings.ContainsAny(name, "0123456789")
}

var interpolation = regexp.MustCompile(`\{[\w.]+\}`)

func paramsOf(fp xmlFingerprint) map[string]xmlParam {
	params := map[string]xmlParam{}
	for _, p := range fp.Params {
		params[p.Name] = p
	}
	return params
}

// fixed is a parameter's value when the fingerprint sets it (pos 0).
func fixed(params map[string]xmlParam, name string) string {
	if p, ok := params[name]; ok && p.Pos == 0 && !strings.Contains(p.Value, "{") {
		return strings.TrimSpace(p.Value)
	}
	return ""
}

func kindOf(class string) string {
	if k, ok := kinds[class]; ok {
		return k
	}
	if class == "" {
		return "device"
	}
	return strings.ToLower(class)
}

// translate turns a recog (Ruby) pattern into Go's: the flags as (?i) and
// (?s) (Ruby's MULTILINE is Perl's dot-all), (?m) always (Ruby's ^ and $
// match at every line), the greeting prefix a banner keeps, and the groups
// that give parameters named.
func translate(pattern, flags string, field banner.Field, groups map[int]string) (string, error) {
	for n, name := range groups {
		var err error
		if pattern, err = nameGroup(pattern, n, name); err != nil {
			return "", err
		}
	}
	if p, ok := prefixes[field]; ok {
		flags := leadingFlags.FindString(pattern)
		if rest, anchored := strings.CutPrefix(pattern[len(flags):], "^"); anchored {
			pattern = flags + "^" + p + "(?:" + rest + ")"
		}
	}
	mode := "m"
	for _, f := range strings.Split(flags, ",") {
		switch strings.TrimSpace(f) {
		case "REG_ICASE":
			mode += "i"
		case "REG_MULTILINE", "REG_DOT_NEWLINE":
			mode += "s"
		}
	}
	pattern = "(?" + mode + ")" + pattern
	re, err := regexp.Compile(pattern)
	if err != nil {
		return "", err
	}
	for n, name := range groups {
		if re.SubexpIndex(name) != n {
			return "", fmt.Errorf("group %d did not become %q", n, name)
		}
	}
	return pattern, nil
}

var leadingFlags = regexp.MustCompile(`^(?:\(\?[a-zA-Z]+\))*`)

// nameGroup names the pattern's n-th capturing group (counting open
// parentheses, as recog's pos does).
func nameGroup(pattern string, n int, name string) (string, error) {
	count := 0
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '[':
			i = classEnd(pattern, i)
		case '(':
			capturing := !strings.HasPrefix(pattern[i+1:], "?")
			named := strings.HasPrefix(pattern[i+1:], "?P<") || strings.HasPrefix(pattern[i+1:], "?<") && !strings.HasPrefix(pattern[i+1:], "?<=") && !strings.HasPrefix(pattern[i+1:], "?<!")
			if !capturing && !named {
				continue
			}
			if count++; count != n {
				continue
			}
			if named {
				return "", fmt.Errorf("group %d is already named", n)
			}
			return pattern[:i+1] + "?P<" + name + ">" + pattern[i+1:], nil
		}
	}
	return "", fmt.Errorf("pattern has no group %d", n)
}

// classEnd is the index of the ']' closing the class opened at i.
func classEnd(p string, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '^' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for ; j < len(p); j++ {
		switch {
		case p[j] == '\\':
			j++
		case p[j] == '[' && j+1 < len(p) && p[j+1] == ':':
			if k := strings.Index(p[j:], ":]"); k > 0 {
				j += k + 1
			}
		case p[j] == ']':
			return j
		}
	}
	return len(p)
}

func example(ex xmlExample, product xmlParam) (Example, error) {
	e := Example{Value: ex.Text}
	attrs := map[string]string{}
	for _, a := range ex.Attrs {
		attrs[a.Name.Local] = a.Value
	}
	switch enc := attrs["_encoding"]; enc {
	case "":
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(ex.Text), ""))
		if err != nil {
			return e, fmt.Errorf("example: %w", err)
		}
		e.Value = string(b)
	default:
		return e, fmt.Errorf("example encoding %q", enc)
	}
	e.Vendor = attrs["hw.vendor"]
	if product.Pos == 0 && productLine(product.Value) {
		return e, nil // the rule names no model
	}
	e.Model = attrs[product.Name]
	if e.Model == "" && product.Pos == 0 && strings.Contains(product.Value, "{") {
		complete := true
		model := interpolation.ReplaceAllStringFunc(product.Value, func(ref string) string {
			v, ok := attrs[ref[1:len(ref)-1]]
			complete = complete && ok
			return v
		})
		if complete {
			e.Model = model
		}
	}
	return e, nil
}

// YAML writes the rules as the shipped signature file.
func (res *Result) YAML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Code generated by the recog importer (internal/devices/recog) from Rapid7 recog's\n" +
		"# fingerprints (BSD-2-Clause, Copyright 2014 Rapid7, Inc.; see recog/testdata/LICENSE). DO NOT EDIT:\n" +
		"# run `go generate ./internal/devices`.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(devices.File{Rules: res.Rules}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
