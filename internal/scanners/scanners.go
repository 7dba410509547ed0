// Package scanners labels the source addresses that belong to known
// research scanners (Censys, Shodan, Shadowserver, Rapid7, ...): MISP
// warninglists of type "cidr" (github.com/MISP/misp-warninglists) and the
// user's own lists, one address or network per line, each with a label.
//
// A malformed entry is an error that names the file and its line: a list
// that silently drops a network would call a scanner's traffic malicious.
package scanners

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// List is one labelled list of networks.
type List struct {
	Label       string // short name shown with the sources ("censys-scanning")
	Description string // what the list's publisher says of it
	Path        string
	Networks    []netip.Prefix
}

// LoadMISP reads a MISP warninglist (JSON with "name", "description",
// "type": "cidr" and "list"). Its label is the file's name without
// ".json" unless label is given.
func LoadMISP(path, label string) (List, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return List{}, fmt.Errorf("scanner list: %w", err)
	}
	var doc struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Type        string          `json:"type"`
		List        json.RawMessage `json:"list"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return List{}, fmt.Errorf("scanner list %s: not a MISP warninglist: %w", path, err)
	}
	if doc.Type != "cidr" {
		return List{}, fmt.Errorf("scanner list %s: type %q: only \"cidr\" warninglists hold networks", path, doc.Type)
	}
	if label == "" {
		label = strings.TrimSuffix(filepath.Base(path), ".json")
	}
	l := List{Label: label, Description: cmp.Or(doc.Description, doc.Name), Path: path}
	// The entries are read one by one, so that a bad one is reported at
	// its line of the file.
	start := bytes.Index(b, doc.List)
	dec := json.NewDecoder(bytes.NewReader(doc.List))
	if _, err := dec.Token(); err != nil { // [
		return List{}, fmt.Errorf("scanner list %s: \"list\" is not an array: %w", path, err)
	}
	for dec.More() {
		offset := start + int(dec.InputOffset())
		var entry string
		if err := dec.Decode(&entry); err != nil {
			return List{}, fmt.Errorf("%s:%d: a list entry is not a string: %w", path, lineAt(b, offset), err)
		}
		p, err := parseNetwork(entry)
		if err != nil {
			return List{}, fmt.Errorf("%s:%d: %w", path, lineAt(b, offset+1), err)
		}
		l.Networks = append(l.Networks, p)
	}
	if len(l.Networks) == 0 {
		return List{}, fmt.Errorf("scanner list %s: no networks", path)
	}
	return l, nil
}

// lineAt returns the line number of byte offset in b, the line of the
// next non-space byte after it (a decoder's offset stops before the
// separator).
func lineAt(b []byte, offset int) int {
	offset = min(offset, len(b))
	for offset < len(b) && strings.ContainsRune(" \t\r\n,", rune(b[offset])) {
		offset++
	}
	return bytes.Count(b[:offset], []byte("\n")) + 1
}

// LoadText reads the user's list: one address or network per line, blank
// lines and "#" comments ignored, every network labelled label.
func LoadText(path, label string) (List, error) {
	if label == "" {
		return List{}, fmt.Errorf("scanner list %s: no label", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return List{}, fmt.Errorf("scanner list: %w", err)
	}
	defer f.Close()
	l := List{Label: label, Path: path}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		p, err := parseNetwork(line)
		if err != nil {
			return List{}, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		l.Networks = append(l.Networks, p)
	}
	if err := sc.Err(); err != nil {
		return List{}, fmt.Errorf("scanner list %s: %w", path, err)
	}
	if len(l.Networks) == 0 {
		return List{}, fmt.Errorf("scanner list %s: no networks", path)
	}
	return l, nil
}

// parseNetwork reads a network or a lone address (record.ParseNetwork).
func parseNetwork(s string) (netip.Prefix, error) {
	p, err := record.ParseNetwork(s)
	if err != nil {
		return p, fmt.Errorf("%q: %w", s, err)
	}
	return p, nil
}

// Set answers which lists hold an address. It is read-only once built,
// so safe for concurrent lookups.
type Set struct {
	lists  []List
	byNet  map[netip.Prefix][]int // masked network → indices into lists
	lens4  []int                  // the prefix lengths present, longest first
	lens6  []int
	spans4 spans
	spans6 spans
}

// NewSet indexes lists. Two lists may share a label (a publisher's list
// and the telescope's list of the same scanner): an address is labelled
// once.
func NewSet(lists ...List) (*Set, error) {
	if len(lists) == 0 {
		return nil, errors.New("scanners: no list given")
	}
	s := &Set{lists: lists, byNet: map[netip.Prefix][]int{}}
	seen4, seen6 := map[int]bool{}, map[int]bool{}
	for i, l := range lists {
		for _, p := range l.Networks {
			if !slices.Contains(s.byNet[p], i) {
				s.byNet[p] = append(s.byNet[p], i)
			}
			if p.Addr().Is4() {
				seen4[p.Bits()] = true
			} else {
				seen6[p.Bits()] = true
			}
		}
	}
	for n := range seen4 {
		s.lens4 = append(s.lens4, n)
	}
	for n := range seen6 {
		s.lens6 = append(s.lens6, n)
	}
	slices.Sort(s.lens4)
	slices.Reverse(s.lens4)
	slices.Sort(s.lens6)
	slices.Reverse(s.lens6)
	s.spans4, s.spans6 = buildSpans(lists, true), buildSpans(lists, false)
	return s, nil
}

// Label returns the labels of the lists that hold a, sorted and
// comma-joined ("censys,shodan"), as an interned name: the zero Name when
// no list holds a. It allocates nothing (the enrich stage calls it for
// every new source).
func (s *Set) Label(a netip.Addr) record.Name {
	a = a.Unmap()
	if a.Is4() {
		return s.spans4.find(keyOf(a))
	}
	return s.spans6.find(keyOf(a))
}

// Labels returns the labels of the lists that hold a, sorted, or nil.
func (s *Set) Labels(a netip.Addr) []string {
	a = a.Unmap()
	lens := s.lens6
	if a.Is4() {
		lens = s.lens4
	}
	var out []string
	for _, n := range lens {
		p, err := a.Prefix(n)
		if err != nil {
			continue
		}
		for _, i := range s.byNet[p] {
			if label := s.lists[i].Label; !slices.Contains(out, label) {
				out = append(out, label)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Lists returns the lists of the set.
func (s *Set) Lists() []List { return s.lists }
