package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
	"go.yaml.in/yaml/v3"
)

// Format is the file format an owner receives.
type Format string

// The formats of a report file.
const (
	CSV  Format = "csv"
	JSON Format = "json"
)

// Ext returns the file name extension of the format, without the dot.
func (f Format) Ext() string { return string(f) }

// Owner is one subscription: a network owner and the networks it answers
// for. Owners come from Load or Parse, which check them.
type Owner struct {
	// Name identifies the owner; unique in the file.
	Name string
	// Contact receives the owner's mail: one or more addresses.
	Contact []*mail.Address
	// ASNs are the owner's autonomous systems: an event whose source AS is
	// one of them is the owner's.
	ASNs []uint32
	// Prefixes are the owner's networks: an event whose source address
	// falls in one of them is the owner's.
	Prefixes []netip.Prefix
	// Format is the owner's file format (CSV unless the entry says json).
	Format Format
	// DiscloseDestinations lets the owner's file carry the sensors'
	// addresses (dst_ip); without it they never appear.
	DiscloseDestinations bool
	// Line is the entry's line in the subscriptions file.
	Line int

	stem string // the file name's owner part, unique in the file
}

// FileStem is the owner's part of its file names: Name reduced to letters,
// digits, '.', '_' and '-', never starting with a dot, and followed by a
// digest of Name whenever the reduction changed it, so that "a/b" and
// "a_b" get files of their own. It never names a directory.
func (o *Owner) FileStem() string { return o.stem }

// Subscriptions are the owners of a subscriptions file and the index that
// finds the owners of an event; Load and Parse make them.
type Subscriptions struct {
	owners []*Owner
	index  index
}

// Owners returns the owners in file order.
func (s *Subscriptions) Owners() []*Owner { return s.owners }

// MaxFileSize bounds a subscriptions file, read whole into memory.
const MaxFileSize = 16 << 20

// Load reads and validates a subscriptions file. Its errors name the file
// and, where one is to blame, the line ("subs.yaml:12: owner "x": ...").
func Load(path string) (*Subscriptions, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("subscriptions: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("subscriptions: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("subscriptions: %s: more than %d MiB", path, MaxFileSize>>20)
	}
	return Parse(path, data)
}

// Parse is Load of data, named name in errors.
//
// The file:
//
//	owners:
//	  - owner: example-isp
//	    contact: [abuse@example.net, noc@example.net]  # or one address
//	    asns: [64500, AS64501]
//	    prefixes: [192.0.2.0/24, "2001:db8::/32", 198.51.100.7]
//	    format: json                  # csv (default) or json
//	    disclose_destinations: true   # default false
func Parse(name string, data []byte) (*Subscriptions, error) {
	var file rawFile
	if err := yamlstrict.Decode(data, &file); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: no owners", name)
		}
		return nil, yamlError(name, err)
	}
	// The strict decode above has no positions; the node tree has them.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	entries := entryNodes(&doc)
	if len(file.Owners) == 0 {
		return nil, fmt.Errorf("%s: no owners", name)
	}
	if len(entries) != len(file.Owners) {
		return nil, fmt.Errorf("%s: %d owners decoded but %d entries found under the owners key", name, len(file.Owners), len(entries))
	}
	subs := &Subscriptions{}
	names := map[string]int{}
	stems := map[string]*Owner{}
	for i, raw := range file.Owners {
		e := entry{node: resolve(entries[i]), index: i}
		o, err := raw.owner(e)
		if err != nil {
			return nil, fmt.Errorf("%s:%w", name, err)
		}
		if line, ok := names[o.Name]; ok {
			return nil, fmt.Errorf("%s:%d: owner %q: also at line %d", name, e.line("owner"), o.Name, line)
		}
		names[o.Name] = o.Line
		key := strings.ToLower(o.stem) // case-insensitive file systems
		if other, ok := stems[key]; ok {
			return nil, fmt.Errorf("%s:%d: owner %q: its file name %q is that of owner %q (line %d)",
				name, o.Line, o.Name, o.stem, other.Name, other.Line)
		}
		stems[key] = o
		subs.owners = append(subs.owners, o)
	}
	subs.index = newIndex(subs.owners)
	return subs, nil
}

// rawFile is the file as written.
type rawFile struct {
	Owners []rawOwner `yaml:"owners"`
}

type rawOwner struct {
	Owner                string      `yaml:"owner"`
	Contact              stringOrSeq `yaml:"contact"`
	ASNs                 []string    `yaml:"asns"`
	Prefixes             []string    `yaml:"prefixes"`
	Format               Format      `yaml:"format"`
	DiscloseDestinations bool        `yaml:"disclose_destinations"`
}

// stringOrSeq is a YAML string or a sequence of strings.
type stringOrSeq []string

func (s *stringOrSeq) UnmarshalYAML(n *yaml.Node) error {
	if n.Tag == "!!null" {
		*s = nil
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	var seq []string
	if err := n.Decode(&seq); err != nil {
		return err
	}
	*s = seq
	return nil
}

// MaxOwnerName bounds an owner's name (it goes into file names and
// subjects).
const MaxOwnerName = 200

// owner validates one entry.
func (r rawOwner) owner(e entry) (*Owner, error) {
	name := strings.TrimSpace(r.Owner)
	o := &Owner{Name: name, Format: r.Format, DiscloseDestinations: r.DiscloseDestinations, Line: e.node.Line}
	who := fmt.Sprintf("owner %q", name)
	if name == "" {
		who = fmt.Sprintf("owner #%d", e.index+1)
	}
	// The error starts with the line: Parse puts the file name before it.
	fail := func(line int, format string, args ...any) (*Owner, error) {
		return nil, fmt.Errorf("%d: %s: %s", line, who, fmt.Sprintf(format, args...))
	}
	switch {
	case name == "":
		return fail(o.Line, "the owner key (its name) is missing or empty")
	case len(name) > MaxOwnerName:
		return fail(e.line("owner"), "the name is longer than %d bytes", MaxOwnerName)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fail(e.line("owner"), "the name holds a control character")
	}
	o.stem = fileStem(name)
	if len(r.Contact) == 0 {
		return fail(o.Line, "no contact (one or more e-mail addresses)")
	}
	for i, c := range r.Contact {
		a, err := mail.ParseAddress(c)
		if err != nil {
			return fail(e.itemLine("contact", i), "contact %q: %v", c, err)
		}
		o.Contact = append(o.Contact, a)
	}
	for i, s := range r.ASNs {
		asn, err := parseASN(s)
		if err != nil {
			return fail(e.itemLine("asns", i), "%v", err)
		}
		o.ASNs = append(o.ASNs, asn)
	}
	for i, s := range r.Prefixes {
		p, err := parsePrefix(s)
		if err != nil {
			return fail(e.itemLine("prefixes", i), "%v", err)
		}
		o.Prefixes = append(o.Prefixes, p)
	}
	if len(o.ASNs)+len(o.Prefixes) == 0 {
		return fail(o.Line, "neither asns nor prefixes: the owner would receive nothing")
	}
	switch o.Format {
	case "":
		o.Format = CSV
	case CSV, JSON:
	default:
		return fail(e.line("format"), "format %q: want csv or json", string(o.Format))
	}
	return o, nil
}

// parseASN reads "64500" or "AS64500". AS 0 and 4294967295 are reserved
// (RFC 7607, RFC 7300) and no source announces them.
func parseASN(s string) (uint32, error) {
	digits := strings.TrimSpace(s)
	if len(digits) > 2 && strings.EqualFold(digits[:2], "AS") {
		digits = digits[2:]
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n == 0 || n == 1<<32-1 {
		return 0, fmt.Errorf("ASN %q: want a number from 1 to 4294967294, as 64500 or AS64500", s)
	}
	return uint32(n), nil
}

// parsePrefix reads a network or an address (record.ParseNetwork).
func parsePrefix(s string) (netip.Prefix, error) {
	p, err := record.ParseNetwork(s)
	if err != nil {
		return p, fmt.Errorf("prefix %q: %w", s, err)
	}
	return p, nil
}

// maxStem bounds the owner part of a file name, far below the 255 bytes
// file systems allow, leaving room for the period and the extension.
const maxStem = 120

// fileStem makes name safe as part of a file name (see Owner.FileStem).
func fileStem(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)), r == '-', r == '_':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0: // no leading dot: no "..", no hidden file
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	stem := b.String()
	if len(stem) > maxStem {
		stem = stem[:maxStem]
	}
	if stem != name {
		sum := sha256.Sum256([]byte(name))
		stem += "-" + hex.EncodeToString(sum[:4])
	}
	return stem
}

// entry is the node of one owner entry and its index in the owners
// sequence, for the lines of its errors.
type entry struct {
	node  *yaml.Node
	index int
}

// value returns the node of key's value, or nil.
func (e entry) value(key string) *yaml.Node {
	c := e.node.Content
	for i := 0; i+1 < len(c); i += 2 {
		if c[i].Value == key {
			return resolve(c[i+1])
		}
	}
	return nil
}

// line returns the line of key's value, or of the entry when it has none.
func (e entry) line(key string) int {
	if v := e.value(key); v != nil {
		return v.Line
	}
	return e.node.Line
}

// itemLine returns the line of item i of key's sequence (of key's value
// when it is a scalar).
func (e entry) itemLine(key string, i int) int {
	v := e.value(key)
	if v != nil && v.Kind == yaml.SequenceNode && i < len(v.Content) {
		return v.Content[i].Line
	}
	return e.line(key)
}

// entryNodes returns the nodes of the owners sequence's entries.
func entryNodes(doc *yaml.Node) []*yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	top := resolve(doc.Content[0])
	for i := 0; i+1 < len(top.Content); i += 2 {
		if v := resolve(top.Content[i+1]); top.Content[i].Value == "owners" && v.Kind == yaml.SequenceNode {
			return v.Content
		}
	}
	return nil
}

// resolve follows an alias ("*name") to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

var (
	yamlLine    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknown = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// yamlError rewrites the decoder's "line N: ..." messages as
// "name:N: ...", one line each, and its unknown fields as unknown keys.
func yamlError(name string, err error) error {
	var msgs []string
	if te, ok := errors.AsType[*yaml.TypeError](err); ok {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out bytes.Buffer
	for i, m := range msgs {
		if i > 0 {
			out.WriteByte('\n')
		}
		sub := yamlLine.FindStringSubmatch(m)
		if sub == nil {
			fmt.Fprintf(&out, "%s: %s", name, m)
			continue
		}
		msg := sub[2]
		if u := yamlUnknown.FindStringSubmatch(msg); u != nil {
			msg = fmt.Sprintf("unknown key %q", u[1])
		}
		fmt.Fprintf(&out, "%s:%s: %s", name, sub[1], msg)
	}
	return errors.New(out.String())
}
