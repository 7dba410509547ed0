package notify

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	subs, err := Parse("subs.yaml", []byte(`owners:
  - owner: example-isp
    contact: abuse@example.net
    asns: [64500, AS64501, as64502]
    prefixes: [192.0.2.0/24, "2001:db8::/32", 198.51.100.7, "2001:db8:ffff::1"]
  - owner: Example University
    contact: ["CSIRT <csirt@example.edu>", noc@example.edu]
    prefixes: [203.0.113.0/25]
    format: json
    disclose_destinations: true
`))
	if err != nil {
		t.Fatal(err)
	}
	type owner struct {
		Name     string
		Contact  []string
		ASNs     []uint32
		Prefixes []netip.Prefix
		Format   Format
		Disclose bool
		Line     int
		FileStem string
	}
	var got []owner
	for _, o := range subs.Owners() {
		var contact []string
		for _, c := range o.Contact {
			contact = append(contact, c.String())
		}
		got = append(got, owner{o.Name, contact, o.ASNs, o.Prefixes, o.Format, o.DiscloseDestinations, o.Line, o.FileStem()})
	}
	want := []owner{{
		Name:     "example-isp",
		Contact:  []string{"<abuse@example.net>"},
		ASNs:     []uint32{64500, 64501, 64502},
		Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("2001:db8:ffff::1/128")},
		Format:   CSV,
		Line:     2,
		FileStem: "example-isp",
	}, {
		Name:     "Example University",
		Contact:  []string{`"CSIRT" <csirt@example.edu>`, "<noc@example.edu>"},
		Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/25")},
		Format:   JSON,
		Disclose: true,
		Line:     6,
		FileStem: "Example_University-" + digest("Example University"),
	}}
	if diff := cmp.Diff(got, want, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("Parse() (-got, +want):\n%s", diff)
	}
}

// digest is what fileStem appends to a name it had to change.
func digest(name string) string {
	stem := fileStem(name)
	return stem[strings.LastIndexByte(stem, '-')+1:]
}

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml string
		want string
	}{
		"unknown key": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    asn: [64500]\n",
			want: `subs.yaml:4: unknown key "asn"`,
		},
		"unknown top key": {
			yaml: "owner: a\n",
			want: `subs.yaml:1: unknown key "owner"`,
		},
		"bad bool": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    asns: [1]\n    disclose_destinations: maybe\n",
			want: "subs.yaml:5: cannot unmarshal !!str `maybe` into bool",
		},
		"syntax": {
			yaml: "owners:\n  - owner: a\n    contact: \"a@example.net\n",
			want: "subs.yaml:3: found unexpected end of stream",
		},
		"empty": {
			yaml: "",
			want: "subs.yaml: no owners",
		},
		"no owners": {
			yaml: "owners: []\n",
			want: "subs.yaml: no owners",
		},
		"no name": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    asns: [1]\n  - contact: b@example.net\n    asns: [2]\n",
			want: "subs.yaml:5: owner #2: the owner key (its name) is missing or empty",
		},
		"control character": {
			yaml: "owners:\n  - owner: \"a\\nb\"\n    contact: a@example.net\n    asns: [1]\n",
			want: `subs.yaml:2: owner "a\nb": the name holds a control character`,
		},
		"duplicate owner": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    asns: [1]\n  - owner: a\n    contact: b@example.net\n    asns: [2]\n",
			want: `subs.yaml:5: owner "a": also at line 2`,
		},
		"same file name": {
			yaml: "owners:\n  - owner: ISP\n    contact: a@example.net\n    asns: [1]\n  - owner: isp\n    contact: b@example.net\n    asns: [2]\n",
			want: `subs.yaml:5: owner "isp": its file name "isp" is that of owner "ISP" (line 2)`,
		},
		"no contact": {
			yaml: "owners:\n  - owner: a\n    asns: [1]\n",
			want: `subs.yaml:2: owner "a": no contact (one or more e-mail addresses)`,
		},
		"empty contact": {
			yaml: "owners:\n  - owner: a\n    contact:\n    asns: [1]\n",
			want: `subs.yaml:2: owner "a": no contact (one or more e-mail addresses)`,
		},
		"bad contact": {
			yaml: "owners:\n  - owner: a\n    contact:\n      - a@example.net\n      - not an address\n    asns: [1]\n",
			want: `subs.yaml:5: owner "a": contact "not an address": mail: `,
		},
		"nothing to match": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n",
			want: `subs.yaml:2: owner "a": neither asns nor prefixes: the owner would receive nothing`,
		},
		"bad asn": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    asns:\n      - 64500\n      - ASX1\n",
			want: `subs.yaml:6: owner "a": ASN "ASX1": want a number from 1 to 4294967294, as 64500 or AS64500`,
		},
		"asn zero": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    asns: [0]\n",
			want: `subs.yaml:4: owner "a": ASN "0": want a number`,
		},
		"asn too large": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    asns: [AS4294967296]\n",
			want: `subs.yaml:4: owner "a": ASN "AS4294967296": want a number`,
		},
		"bad prefix": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    prefixes:\n      - 192.0.2.0/24\n      - 192.0.2.300\n",
			want: `subs.yaml:6: owner "a": prefix "192.0.2.300": want a network`,
		},
		"prefix too long": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    prefixes: [192.0.2.0/33]\n",
			want: `subs.yaml:4: owner "a": prefix "192.0.2.0/33": want a network`,
		},
		"host bits": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    prefixes: [\"2001:db8::1/32\"]\n",
			want: `subs.yaml:4: owner "a": prefix "2001:db8::1/32": bits set past /32 (did you mean 2001:db8::/32?)`,
		},
		"mapped prefix": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    prefixes: [\"::ffff:192.0.2.0/120\"]\n",
			want: `subs.yaml:4: owner "a": prefix "::ffff:192.0.2.0/120": write IPv4 networks in dotted form`,
		},
		"bad format": {
			yaml: "owners:\n  - owner: a\n    contact: a@example.net\n    asns: [1]\n    format: xml\n",
			want: `subs.yaml:5: owner "a": format "xml": want csv or json`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("subs.yaml", []byte(tc.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Parse() error = %v, want one starting %q", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subs.yaml")
	if err := os.WriteFile(path, []byte("owners:\n  - owner: a\n    contact: a@example.net\n    asns: [AS0]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+":4: ") {
		t.Errorf("Load() error = %v, want one naming %s:4", err, path)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want a not-exist error", err)
	}
}

func TestFileStem(t *testing.T) {
	for _, name := range []string{"../x", "a/b", "..", ".hidden", `a\b`, "/etc/passwd", "Ünïcode", "a b", "x" + strings.Repeat("y", 300)} {
		stem := fileStem(name)
		file := stem + "-2024-07-15.csv"
		if !filepath.IsLocal(file) || filepath.Base(file) != file || strings.HasPrefix(stem, ".") || strings.ContainsAny(stem, `/\ `) {
			t.Errorf("fileStem(%q) = %q: not a plain file name", name, stem)
		}
		if len(stem) > maxStem+9 {
			t.Errorf("fileStem(%q) is %d bytes long", name, len(stem))
		}
	}
	if a, b := fileStem("a/b"), fileStem("a_b"); a == b {
		t.Errorf(`fileStem("a/b") = fileStem("a_b") = %q`, a)
	}
	if got := fileStem("example-isp.net_2"); got != "example-isp.net_2" {
		t.Errorf("fileStem() of a safe name = %q, want it unchanged", got)
	}
}

// FuzzParse: no file makes Parse panic, and a file it accepts gives
// owners that can receive something, under file names that stay in
// their directory.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fixtureYAML))
	f.Add([]byte("owners:\n  - {owner: \"../x\", contact: a@x.example, asns: [AS1], prefixes: [\"::/0\", 0.0.0.0/0]}\n"))
	f.Add([]byte("owners:\n  - owner: a\n    contact: [a@x.example, \"B <b@x.example>\"]\n    prefixes: [10.0.0.1]\n    format: json\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		subs, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		for _, o := range subs.Owners() {
			name := FileName(o, day)
			if len(o.Contact) == 0 || len(o.ASNs)+len(o.Prefixes) == 0 || !filepath.IsLocal(name) || filepath.Base(name) != name {
				t.Fatalf("Parse() accepted owner %+v (file %q)", o, name)
			}
		}
		Plan(subs, fixtureEvents())
	})
}

// TestParseAliases: lists may be YAML aliases; the lines of errors are
// then those of the anchored node.
func TestParseAliases(t *testing.T) {
	subs, err := Parse("subs.yaml", []byte(`owners:
  - owner: a
    contact: &contact [noc@x.example]
    asns: [1]
  - owner: b
    contact: *contact
    prefixes: [10.0.0.0/8]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := subs.Owners()[1].Contact[0].Address; got != "noc@x.example" {
		t.Errorf("owner b's contact = %q, want the alias's noc@x.example", got)
	}
	_, err = Parse("subs.yaml", []byte(`owners:
  - owner: a
    contact: &contact [noc@x.example, "not an address"]
    asns: [1]
  - owner: b
    contact: *contact
    asns: [2]
`))
	if err == nil || !strings.HasPrefix(err.Error(), `subs.yaml:3: owner "a": contact "not an address"`) {
		t.Errorf("Parse() error = %v", err)
	}
}
