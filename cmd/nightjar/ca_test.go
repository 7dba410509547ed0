package main

import (
	"crypto/tls"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pki"
)

// mustCA runs a ca command that must succeed and returns its output.
func mustCA(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := nightjar(t, append([]string{"ca"}, args...)...)
	if code != 0 {
		t.Fatalf("nightjar ca %v: exit %d: %s", args, code, stderr)
	}
	return stdout
}

func wantLines(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, got)
		}
	}
}

func TestCAWorkflow(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	reg := filepath.Join(tmp, "registry")
	out := mustCA(t, "init", "--dir", reg, "--host", "collector.example,192.0.2.1")
	wantLines(t, "init", out, "created the registry "+reg, "ca.crt", "collector.example, 192.0.2.1", "nightjar ca enroll --dir "+reg)
	if out := mustCA(t, "list", "--dir", reg); !strings.Contains(out, "no sensors enrolled yet") {
		t.Errorf("list of a new registry:\n%s", out)
	}

	jp1 := filepath.Join(tmp, "jp-1")
	// Certificates keep the real clock: the expiry is 720 h after the
	// enrollment, whose date is that of before or after the command.
	until := func() string { return time.Now().Add(720 * time.Hour).UTC().Format(time.DateOnly) }
	before := until()
	out = mustCA(t, "enroll", "--dir", reg, "--name", "jp-1", "--group", "Japan", "--country", "jp",
		"--description", "campus", "--prefix", "198.18.1.0/24", "--prefix", "2001:db8:1::/64", "--out", jp1, "--validity", "720h")
	expiry := before
	if !strings.Contains(out, "valid until "+before) {
		expiry = until() // the command crossed midnight
	}
	wantLines(t, "enroll", out, `enrolled sensor "jp-1": group Japan, country JP, 198.18.1.0/24, 2001:db8:1::/64`,
		"valid until "+expiry, "wrote "+jp1, "sensor.key",
		"scp -r "+jp1+" SENSOR-HOST:/etc/nightjar/jp-1", "cert: /etc/nightjar/jp-1/sensor.crt", "ca: /etc/nightjar/jp-1/ca.crt")
	for name, perm := range map[string]os.FileMode{pki.SensorCertFile: 0o644, pki.SensorKeyFile: 0o600, pki.SensorCAFile: 0o644} {
		fi, err := os.Stat(filepath.Join(jp1, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), perm)
		}
	}
	if _, err := pki.ClientTLS(filepath.Join(jp1, pki.SensorCertFile), filepath.Join(jp1, pki.SensorKeyFile), filepath.Join(jp1, pki.SensorCAFile), "collector.example"); err != nil {
		t.Errorf("the enrolled files do not make a sensor TLS configuration: %v", err)
	}

	mustCA(t, "enroll", "--dir", reg, "--name", "us-1", "--group", "overseas", "--country", "US", "--prefix", "198.19.1.1", "--out", filepath.Join(tmp, "us-1"))
	// Enrolling again: a second certificate, the sensor's group updated.
	out = mustCA(t, "enroll", "--dir", reg, "--name", "jp-1", "--group", "Japan-east", "--country", "JP", "--prefix", "198.18.1.0/24", "--out", filepath.Join(tmp, "jp-1b"))
	wantLines(t, "enroll again", out, "1 earlier certificate(s) of jp-1 stay valid until revoked")

	// The registry's sensors.yaml is a fleet file, as ingest --sensors reads.
	f, err := fleet.Load(filepath.Join(reg, pki.SensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sensors) != 2 || f.Sensors[0].Group != "Japan-east" || f.Sensors[1].Name != "us-1" {
		t.Errorf("sensors.yaml = %+v, want jp-1 (Japan-east) and us-1", f.Sensors)
	}

	out = mustCA(t, "list", "--dir", reg)
	wantLines(t, "list", out, "NAME", "STATE")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "jp-1") || !strings.Contains(lines[1], "2 (0 revoked)") || !strings.Contains(lines[1], "active") ||
		!strings.Contains(lines[2], "us-1") || !strings.Contains(lines[2], "198.19.1.1") || !strings.Contains(lines[2], "1 (0 revoked)") {
		t.Errorf("list: want a header, then jp-1 with 2 certificates and us-1 with 1, both active:\n%s", out)
	}

	out = mustCA(t, "revoke", "--dir", reg, "jp-1")
	wantLines(t, "revoke", out, `revoked 2 certificate(s) of sensor "jp-1"`, "within a second", filepath.Join(reg, pki.RevokedFile))
	if out := mustCA(t, "revoke", "--dir", reg, "jp-1"); !strings.Contains(out, `sensor "jp-1" had no certificate left to revoke`) {
		t.Errorf("revoke again:\n%s", out)
	}

	var got []struct {
		Name         string   `json:"name"`
		Group        string   `json:"group"`
		Country      string   `json:"country"`
		Description  string   `json:"description"`
		Addresses    []string `json:"addresses"`
		State        string   `json:"state"`
		Certificates []struct {
			Serial    string     `json:"serial"`
			NotAfter  time.Time  `json:"not_after"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"certificates"`
	}
	if err := json.Unmarshal([]byte(mustCA(t, "list", "--dir", reg, "--format", "json")), &got); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Group, Country, State string
		Addresses                   []string
		Certificates, Revoked       int
	}
	var rows []row
	for _, s := range got {
		r := row{Name: s.Name, Group: s.Group, Country: s.Country, State: s.State, Addresses: s.Addresses, Certificates: len(s.Certificates)}
		for _, c := range s.Certificates {
			if c.RevokedAt != nil {
				r.Revoked++
			}
			if len(c.Serial) > 32 || len(c.Serial)%2 != 0 || strings.Trim(c.Serial, "0123456789ABCDEF") != "" {
				t.Errorf("serial %q: want 128 bits in hexadecimal", c.Serial)
			}
		}
		rows = append(rows, r)
	}
	want := []row{
		{Name: "jp-1", Group: "Japan-east", Country: "JP", State: "revoked", Addresses: []string{"198.18.1.0/24"}, Certificates: 2, Revoked: 2},
		{Name: "us-1", Group: "overseas", Country: "US", State: "active", Addresses: []string{"198.19.1.1"}, Certificates: 1},
	}
	if diff := cmp.Diff(rows, want); diff != "" {
		t.Errorf("list --format json (-got, +want):\n%s", diff)
	}
}

func TestCAErrors(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	reg := filepath.Join(tmp, "registry")
	mustCA(t, "init", "--dir", reg)
	mustCA(t, "enroll", "--dir", reg, "--name", "jp-1", "--group", "Japan", "--country", "JP", "--prefix", "198.18.1.0/24", "--out", filepath.Join(tmp, "jp-1"))
	enroll := func(extra ...string) []string {
		args := []string{"enroll", "--dir", reg, "--group", "Japan", "--country", "JP", "--out", filepath.Join(tmp, "out")}
		return append(args, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"init without dir", []string{"init"}, "--dir DIR is required"},
		{"init existing", []string{"init", "--dir", reg}, "a registry already exists there"},
		{"init bad host", []string{"init", "--dir", filepath.Join(tmp, "r2"), "--host", "not a host"}, `collector host "not a host"`},
		{"enroll without dir", []string{"enroll", "--name", "x"}, "missing --dir, --group, --country, --prefix, --out"},
		{"enroll without prefix", enroll("--name", "jp-2"), "missing --prefix"},
		{"enroll missing registry", []string{"enroll", "--dir", filepath.Join(tmp, "nope"), "--name", "a", "--group", "g", "--country", "JP", "--prefix", "198.18.9.1", "--out", tmp}, "does not exist"},
		{"enroll bad prefix", enroll("--name", "jp-2", "--prefix", "198.18.2.300"), `address "198.18.2.300"`},
		{"enroll host bits", enroll("--name", "jp-2", "--prefix", "198.18.2.1/24"), "did you mean 198.18.2.0/24"},
		{"enroll overlap", enroll("--name", "jp-2", "--prefix", "198.18.1.9"), `overlaps 198.18.1.0/24 of sensor "jp-1"`},
		{"enroll bad name", enroll("--name", "jp/2", "--prefix", "198.18.2.1"), `sensor name "jp/2"`},
		{"enroll bad country", []string{"enroll", "--dir", reg, "--name", "jp-2", "--group", "g", "--country", "Japan", "--prefix", "198.18.2.1", "--out", filepath.Join(tmp, "out")}, "ISO 3166-1 alpha-2"},
		{"enroll newline in group", enroll("--name", "jp-2", "--prefix", "198.18.2.1", "--group", "Japan\njp-9  Japan  JP  198.18.9.0/24"), `group "Japan\njp-9  Japan  JP  198.18.9.0/24": control character U+000A`},
		{"enroll tab in description", enroll("--name", "jp-2", "--prefix", "198.18.2.1", "--description", "a\tb"), `description "a\tb": control character U+0009`},
		{"enroll into a file", enroll("--name", "jp-2", "--prefix", "198.18.2.1", "--out", filepath.Join(tmp, "jp-1", pki.SensorCertFile)), "not a directory"},
		{"enroll bad validity", enroll("--name", "jp-2", "--prefix", "198.18.2.1", "--validity", "1y"), `invalid argument "1y" for "--validity"`},
		{"enroll argument", enroll("--name", "jp-2", "--prefix", "198.18.2.1", "extra"), `unexpected argument "extra"`},
		{"revoke without dir", []string{"revoke", "jp-1"}, "--dir DIR is required"},
		{"revoke without name", []string{"revoke", "--dir", reg}, "give the NAME of one sensor"},
		{"revoke unknown", []string{"revoke", "--dir", reg, "mars-1"}, `revoke sensor "mars-1": sensor not enrolled`},
		{"list without dir", []string{"list"}, "--dir DIR is required"},
		{"list bad format", []string{"list", "--dir", reg, "--format", "xml"}, `unknown --format "xml"`},
		{"list not a registry", []string{"list", "--dir", tmp}, "ca.crt is missing"},
		{"unknown subcommand", []string{"renew"}, `unknown command "renew" for "nightjar ca"`},
	}
	for _, tt := range tests {
		code, stdout, stderr := nightjar(t, append([]string{"ca"}, tt.args...)...)
		if code == 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: nightjar ca %v: exit %d, stderr %q; want a failure mentioning %q", tt.name, tt.args, code, stderr, tt.want)
		}
		if strings.Contains(stdout, "wrote") {
			t.Errorf("%s: stdout %q after a failure", tt.name, stdout)
		}
	}
	// Nothing of the failed enrollments was recorded.
	if out := mustCA(t, "list", "--dir", reg); strings.Count(out, "\n") != 2 {
		t.Errorf("list after failed enrollments, want jp-1 only:\n%s", out)
	}
}

// TestCAEnrollOccupiedOut: enrolling into a directory that holds files
// (another sensor's credentials) is refused before any certificate is
// issued, unless --force.
func TestCAEnrollOccupiedOut(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	reg := filepath.Join(tmp, "registry")
	mustCA(t, "init", "--dir", reg)
	jp1 := filepath.Join(tmp, "jp-1")
	mustCA(t, "enroll", "--dir", reg, "--name", "jp-1", "--group", "Japan", "--country", "JP", "--prefix", "198.18.1.0/24", "--out", jp1)
	before, err := os.ReadFile(filepath.Join(jp1, pki.SensorCertFile))
	if err != nil {
		t.Fatal(err)
	}
	us1 := []string{"ca", "enroll", "--dir", reg, "--name", "us-1", "--group", "overseas", "--country", "US", "--prefix", "198.19.1.1", "--out", jp1}

	code, stdout, stderr := nightjar(t, us1...)
	if want := "--out " + jp1 + " is not empty"; code != 1 || stdout != "" || !strings.Contains(stderr, want) || !strings.Contains(stderr, "--force") {
		t.Errorf("enroll into jp-1's directory: exit %d, stdout %q, stderr %q; want exit 1 and %q, naming --force", code, stdout, stderr, want)
	}
	if after, _ := os.ReadFile(filepath.Join(jp1, pki.SensorCertFile)); string(after) != string(before) {
		t.Errorf("the refused enrollment replaced jp-1's certificate")
	}
	if out := mustCA(t, "list", "--dir", reg); strings.Contains(out, "us-1") {
		t.Errorf("the refused enrollment enrolled us-1:\n%s", out)
	}

	mustCA(t, append(us1[1:], "--force")...)
	pair, err := tls.LoadX509KeyPair(filepath.Join(jp1, pki.SensorCertFile), filepath.Join(jp1, pki.SensorKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := pair.Leaf.Subject.CommonName; got != "us-1" {
		t.Errorf("after --force the directory holds %q's credentials, want us-1's", got)
	}
}

func TestCAHelp(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{"init", "enroll", "revoke", "list"} {
		out := mustCA(t, sub, "--help")
		wantLines(t, "ca "+sub+" --help", out, "Usage:", "Examples:", "nightjar ca "+sub+" --dir", "--dir DIR")
	}
	wantLines(t, "ca", mustCA(t), "Available Commands:", "enroll", "revoke")
}
