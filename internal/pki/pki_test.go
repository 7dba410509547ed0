package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pki"
)

const year = 365 * 24 * time.Hour

// newRegistry creates a registry in a new temporary directory.
func newRegistry(t *testing.T) *pki.Registry {
	t.Helper()
	reg, err := pki.Init(filepath.Join(t.TempDir(), "registry"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func sensor(name, group string, addrs ...string) fleet.Sensor {
	return fleet.Sensor{Name: name, Group: group, Country: "JP", Addresses: addrs}
}

// enroll enrolls a sensor and returns its credentials.
func enroll(t *testing.T, reg *pki.Registry, s fleet.Sensor) pki.Credentials {
	t.Helper()
	creds, err := reg.Enroll(s, year)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatalf("no PEM block in %q", certPEM)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestInitOpen(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "registry")
	reg, err := pki.Init(dir, pki.InitOptions{Hosts: []string{"collector.example", "192.0.2.1"}})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		dir: 0o700, filepath.Join(dir, pki.CAKeyFile): 0o600, filepath.Join(dir, pki.CollectorKeyFile): 0o600,
		filepath.Join(dir, pki.CACertFile): 0o644, filepath.Join(dir, pki.IssuedFile): 0o644, filepath.Join(dir, pki.RevokedFile): 0o644,
	} {
		if got := mode(t, path); got != want {
			t.Errorf("mode of %s = %v, want %v", path, got, want)
		}
	}
	ca := reg.CA()
	if !ca.IsCA || ca.PublicKeyAlgorithm != x509.ECDSA || ca.NotAfter.Sub(ca.NotBefore) < 10*year {
		t.Errorf("CA: IsCA %v, key %v, valid %v; want a CA with an ECDSA key valid 10 years", ca.IsCA, ca.PublicKeyAlgorithm, ca.NotAfter.Sub(ca.NotBefore))
	}

	again, err := pki.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.CA().Equal(ca) {
		t.Error("Open() loaded another CA than Init() made")
	}
	if got := again.Sensors(); len(got) != 0 {
		t.Errorf("Sensors() of a new registry = %v, want none", got)
	}

	coll, err := tls.LoadX509KeyPair(filepath.Join(dir, pki.CollectorCertFile), filepath.Join(dir, pki.CollectorKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, host := range []string{"collector.example", "192.0.2.1"} {
		if _, err := coll.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("collector certificate for %s: %v", host, err)
		}
	}
	if _, err := coll.Leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the collector certificate verifies for client authentication; want server only")
	}

	if _, err := pki.Init(dir, pki.InitOptions{}); !errors.Is(err, pki.ErrExists) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Init() on an existing registry: error %v, want ErrExists naming %s", err, dir)
	}
	if _, err := pki.Init(filepath.Join(t.TempDir(), "r"), pki.InitOptions{Hosts: []string{"bad host"}}); err == nil || !strings.Contains(err.Error(), `"bad host"`) {
		t.Errorf("Init() with a bad host: error %v, want one naming it", err)
	}
}

func TestDefaultHosts(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	coll, err := tls.LoadX509KeyPair(filepath.Join(reg.Dir(), pki.CollectorCertFile), filepath.Join(reg.Dir(), pki.CollectorKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reg.CollectorCertificate().Equal(coll.Leaf) {
		t.Error("CollectorCertificate() is not collector.crt")
	}
	var ips []string
	for _, ip := range coll.Leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if diff := cmp.Diff(append(coll.Leaf.DNSNames, ips...), pki.DefaultHosts); diff != "" {
		t.Errorf("collector certificate names (-got, +want):\n%s", diff)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	copyFile := func(from, to string) func(string) error {
		return func(dir string) error {
			data, err := os.ReadFile(filepath.Join(dir, from))
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, to), data, 0o600)
		}
	}
	write := func(name, data string) func(string) error {
		return func(dir string) error { return os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600) }
	}
	remove := func(name string) func(string) error {
		return func(dir string) error { return os.Remove(filepath.Join(dir, name)) }
	}
	tests := []struct {
		name   string
		break_ func(dir string) error
		want   string
	}{
		{name: "missing directory", break_: os.RemoveAll, want: "does not exist"},
		{name: "not a directory", break_: func(dir string) error { os.RemoveAll(dir); return os.WriteFile(dir, nil, 0o600) }, want: "is not a directory"},
		{name: "missing CA", break_: remove(pki.CACertFile), want: "ca.crt is missing"},
		{name: "missing CA key", break_: remove(pki.CAKeyFile), want: "ca.key is missing"},
		{name: "corrupt CA", break_: write(pki.CACertFile, "not PEM"), want: "no PEM CERTIFICATE block"},
		{name: "CA key of another certificate", break_: copyFile(pki.CollectorKeyFile, pki.CAKeyFile), want: "the key does not match the certificate"},
		{name: "CA is not a CA", break_: func(dir string) error {
			if err := copyFile(pki.CollectorCertFile, pki.CACertFile)(dir); err != nil {
				return err
			}
			return copyFile(pki.CollectorKeyFile, pki.CAKeyFile)(dir)
		}, want: "ca.crt is not a CA certificate"},
		{name: "collector key of another certificate", break_: copyFile(pki.CAKeyFile, pki.CollectorKeyFile), want: "collector.crt, collector.key: tls: private key does not match public key"},
		{name: "missing issued", break_: remove(pki.IssuedFile), want: "issued.yaml is missing"},
		{name: "missing revoked", break_: remove(pki.RevokedFile), want: "revoked.yaml is missing"},
		{name: "unknown key in revoked", break_: write(pki.RevokedFile, "revoked:\n  - serial: AB\n    sensr: x\n"), want: "field sensr not found"},
		{name: "bad serial", break_: write(pki.RevokedFile, "revoked:\n  - serial: XYZ\n    sensor: x\n"), want: `revoked.yaml: entry #1: serial "XYZ"`},
		{name: "unknown key in sensors", break_: write(pki.SensorsFile, "sensors:\n  - name: a\n    grup: x\n    addresses: [198.18.0.1]\n"), want: "sensors.yaml: yaml: unmarshal errors:\n  line 3: field grup not found"},
		{name: "missing sensors with certificates", break_: remove(pki.SensorsFile), want: "sensors.yaml is missing, but issued.yaml lists 1 certificates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := newRegistry(t)
			enroll(t, reg, sensor("jp-1", "Japan", "198.18.1.1"))
			if err := tt.break_(reg.Dir()); err != nil {
				t.Fatal(err)
			}
			_, err := pki.Open(reg.Dir())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), reg.Dir()) {
				t.Errorf("Open() error = %v, want one naming the directory and containing %q", err, tt.want)
			}
		})
	}
}

func TestEnroll(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	creds := enroll(t, reg, fleet.Sensor{Name: "jp-1", Group: "Japan", Country: "jp", Description: "campus", Addresses: []string{"198.18.1.0/24", "2001:db8::/64"}})

	cert := parseCert(t, creds.CertPEM)
	roots := x509.NewCertPool()
	roots.AddCert(reg.CA())
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the sensor's certificate does not verify for client authentication: %v", err)
	}
	if diff := cmp.Diff(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}); diff != "" {
		t.Errorf("ExtKeyUsage (-got, +want):\n%s", diff)
	}
	if cert.Subject.CommonName != "jp-1" || cert.PublicKeyAlgorithm != x509.ECDSA || cert.IsCA {
		t.Errorf("certificate CN %q, key %v, IsCA %v; want jp-1, ECDSA, not a CA", cert.Subject.CommonName, cert.PublicKeyAlgorithm, cert.IsCA)
	}
	if cert.SerialNumber.Cmp(creds.Serial) != 0 || cert.SerialNumber.BitLen() > 128 || cert.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %x (%d bits), Credentials.Serial %x; want the same random 128-bit number", cert.SerialNumber, cert.SerialNumber.BitLen(), creds.Serial)
	}
	if got := time.Until(cert.NotAfter); got < year-time.Minute || got > year {
		t.Errorf("certificate expires in %v, want a year", got)
	}
	if _, err := tls.X509KeyPair(creds.CertPEM, creds.KeyPEM); err != nil {
		t.Errorf("key and certificate do not match: %v", err)
	}
	if string(creds.CAPEM) != string(reg.CAPEM()) {
		t.Error("Credentials.CAPEM is not the registry's CA")
	}
	if name, err := reg.SensorName(cert); name != "jp-1" || err != nil {
		t.Errorf("SensorName() = %q, %v; want jp-1", name, err)
	}

	// sensors.yaml is a fleet file, read by fleet.Load as ingest does.
	f, err := fleet.Load(filepath.Join(reg.Dir(), pki.SensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	want := []fleet.Sensor{{Name: "jp-1", Group: "Japan", Country: "JP", Description: "campus", Addresses: []string{"198.18.1.0/24", "2001:db8::/64"}}}
	if diff := cmp.Diff(f.Sensors, want, cmpSensor); diff != "" {
		t.Errorf("sensors.yaml (-got, +want):\n%s", diff)
	}
	got := reg.Sensors()
	if diff := cmp.Diff(got, want, cmpSensor); diff != "" {
		t.Errorf("Sensors() (-got, +want):\n%s", diff)
	}
	if len(got) == 1 && len(got[0].Prefixes()) != 2 {
		t.Errorf("Sensors()[0].Prefixes() = %v, want the two parsed prefixes", got[0].Prefixes())
	}

	// Enrolling again issues a second certificate; the first stays valid,
	// and the sensor's description changes.
	creds2 := enroll(t, reg, sensor("jp-1", "Japan-east", "198.18.1.0/24"))
	if creds2.Serial.Cmp(creds.Serial) == 0 {
		t.Fatal("the second certificate has the first one's serial")
	}
	for _, c := range []pki.Credentials{creds, creds2} {
		if name, err := reg.SensorName(parseCert(t, c.CertPEM)); name != "jp-1" || err != nil {
			t.Errorf("SensorName(certificate %x) = %q, %v; want jp-1", c.Serial, name, err)
		}
	}
	st := reg.Status()
	if len(st) != 1 || st[0].Sensor.Group != "Japan-east" || len(st[0].Certificates) != 2 || st[0].Usable(time.Now()) != 2 || st[0].Revoked() {
		t.Errorf("Status() = %+v, want jp-1 in Japan-east with 2 usable certificates", st)
	}
	if len(st) == 1 && len(st[0].Certificates) == 2 && (st[0].Certificates[0].Serial.Cmp(creds.Serial) != 0 || st[0].Certificates[1].Serial.Cmp(creds2.Serial) != 0) {
		t.Errorf("Status() certificates %v, want %x then %x", st[0].Certificates, creds.Serial, creds2.Serial)
	}

	// Another process opening the registry sees the same.
	other, err := pki.Open(reg.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(other.Status(), st, cmpSensor, cmpSerial); diff != "" {
		t.Errorf("Status() after Open (-got, +want):\n%s", diff)
	}
}

// cmpSerial compares serial numbers.
var cmpSerial = cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })

// cmpSensor compares sensors by their exported fields.
var cmpSensor = cmp.Comparer(func(a, b fleet.Sensor) bool {
	return cmp.Equal([]any{a.Name, a.Group, a.Country, a.Description, a.Addresses}, []any{b.Name, b.Group, b.Country, b.Description, b.Addresses})
})

func TestEnrollErrors(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	enroll(t, reg, sensor("jp-1", "Japan", "198.18.1.0/24"))
	tests := []struct {
		name     string
		sensor   fleet.Sensor
		validity time.Duration
		want     string
	}{
		{name: "empty name", sensor: sensor("", "Japan", "198.18.2.1"), want: "sensor name is empty"},
		{name: "path in name", sensor: sensor("../etc", "Japan", "198.18.2.1"), want: `sensor name "../etc": want letters`},
		{name: "space in name", sensor: sensor("jp 2", "Japan", "198.18.2.1"), want: `sensor name "jp 2"`},
		{name: "leading dash", sensor: sensor("-jp", "Japan", "198.18.2.1"), want: `sensor name "-jp"`},
		{name: "long name", sensor: sensor(strings.Repeat("a", 65), "Japan", "198.18.2.1"), want: "longer than 64 bytes"},
		{name: "bad country", sensor: fleet.Sensor{Name: "jp-2", Country: "Japan", Addresses: []string{"198.18.2.1"}}, want: `country "JAPAN": want an ISO 3166-1 alpha-2 code`},
		{name: "no address", sensor: sensor("jp-2", "Japan"), want: `sensor "jp-2": no addresses`},
		{name: "bad address", sensor: sensor("jp-2", "Japan", "198.18.2.300"), want: `address "198.18.2.300"`},
		{name: "host bits", sensor: sensor("jp-2", "Japan", "198.18.2.1/24"), want: "did you mean 198.18.2.0/24"},
		{name: "overlap", sensor: sensor("jp-2", "Japan", "198.18.1.7"), want: `198.18.1.7/32 overlaps 198.18.1.0/24 of sensor "jp-1"`},
		{name: "newline in group", sensor: sensor("jp-2", "Japan\nus-9  overseas", "198.18.2.1"), want: `group "Japan\nus-9  overseas": control character U+000A at byte 5`},
		{name: "tab in group", sensor: sensor("jp-2", "Japan\tx", "198.18.2.1"), want: `group "Japan\tx": control character U+0009 at byte 5`},
		{name: "escape in description", sensor: fleet.Sensor{Name: "jp-2", Group: "Japan", Description: "campus \x1b[2J", Addresses: []string{"198.18.2.1"}}, want: `description "campus \x1b[2J": control character U+001B at byte 7`},
		{name: "carriage return in description", sensor: fleet.Sensor{Name: "jp-2", Group: "Japan", Description: "a\rb", Addresses: []string{"198.18.2.1"}}, want: `description "a\rb": control character U+000D`},
		{name: "C1 control in description", sensor: fleet.Sensor{Name: "jp-2", Group: "Japan", Description: "a\u0085b", Addresses: []string{"198.18.2.1"}}, want: "control character U+0085"},
		{name: "bidi override in group", sensor: sensor("jp-2", "Japan\u202e", "198.18.2.1"), want: "control character U+202E"},
		{name: "invalid UTF-8 in description", sensor: fleet.Sensor{Name: "jp-2", Group: "Japan", Description: "a\xffb", Addresses: []string{"198.18.2.1"}}, want: `description "a\xffb": not valid UTF-8`},
		{name: "newline in address", sensor: sensor("jp-2", "Japan", "198.18.2.1\n"), want: `address "198.18.2.1\n": control character U+000A`},
		{name: "newline in name", sensor: sensor("jp-2\nx", "Japan", "198.18.2.1"), want: `sensor name "jp-2\nx": want letters`},
		{name: "no validity", sensor: sensor("jp-2", "Japan", "198.18.2.1"), validity: -1, want: "validity -1ns: want more than 0"},
		{name: "beyond the CA", sensor: sensor("jp-2", "Japan", "198.18.2.1"), validity: 11 * year, want: "ends after the CA expires"},
	}
	for _, tt := range tests {
		if tt.validity == 0 {
			tt.validity = year
		}
		_, err := reg.Enroll(tt.sensor, tt.validity)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Enroll() error = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	if st := reg.Status(); len(st) != 1 || len(st[0].Certificates) != 1 {
		t.Errorf("after failed enrollments Status() = %+v, want jp-1 with one certificate only", st)
	}
	// Printable text in any script is fine.
	enroll(t, reg, fleet.Sensor{Name: "jp-2", Group: "日本", Description: "東京 campus — ネットワーク", Addresses: []string{"198.18.2.1"}})
}

func TestCredentialsWriteDir(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	creds := enroll(t, reg, sensor("jp-1", "Japan", "198.18.1.1"))
	dir := filepath.Join(t.TempDir(), "jp-1")
	if err := creds.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		data []byte
		mode os.FileMode
	}{
		pki.SensorCertFile: {creds.CertPEM, 0o644},
		pki.SensorKeyFile:  {creds.KeyPEM, 0o600},
		pki.SensorCAFile:   {creds.CAPEM, 0o644},
	} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(want.data) || mode(t, path) != want.mode {
			t.Errorf("%s: mode %v, want %v and the credentials' bytes", name, mode(t, path), want.mode)
		}
	}
	if got := mode(t, dir); got != 0o700 {
		t.Errorf("mode of %s = %v, want 0700", dir, got)
	}
	if _, err := pki.ClientTLS(filepath.Join(dir, pki.SensorCertFile), filepath.Join(dir, pki.SensorKeyFile), filepath.Join(dir, pki.SensorCAFile), "localhost"); err != nil {
		t.Errorf("ClientTLS() on the written files: %v", err)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	first := enroll(t, reg, sensor("jp-1", "Japan", "198.18.1.1"))
	second := enroll(t, reg, sensor("jp-1", "Japan", "198.18.1.1"))
	keep := enroll(t, reg, sensor("us-1", "overseas", "198.19.1.1"))

	n, err := reg.Revoke("jp-1")
	if n != 2 || err != nil {
		t.Fatalf("Revoke(jp-1) = %d, %v; want 2 certificates", n, err)
	}
	for _, c := range []pki.Credentials{first, second} {
		if !reg.IsRevoked(c.Serial) {
			t.Errorf("IsRevoked(%x) = false after Revoke", c.Serial)
		}
		_, err := reg.SensorName(parseCert(t, c.CertPEM))
		if !errors.Is(err, pki.ErrRevoked) || !strings.Contains(err.Error(), `sensor "jp-1"`) {
			t.Errorf("SensorName(revoked) error = %v, want ErrRevoked naming jp-1", err)
		}
	}
	if reg.IsRevoked(keep.Serial) {
		t.Error("IsRevoked(us-1's certificate) = true, want false")
	}
	if !reg.IsRevoked(nil) {
		t.Error("IsRevoked(nil) = false, want true")
	}
	if n, err := reg.Revoke("jp-1"); n != 0 || err != nil {
		t.Errorf("Revoke(jp-1) again = %d, %v; want 0, nil", n, err)
	}
	if _, err := reg.Revoke("mars-1"); !errors.Is(err, pki.ErrUnknownSensor) || !strings.Contains(err.Error(), `"mars-1"`) {
		t.Errorf("Revoke(mars-1) error = %v, want ErrUnknownSensor naming it", err)
	}

	revoked := map[string]bool{}
	for _, s := range reg.Status() {
		revoked[s.Sensor.Name] = s.Revoked()
	}
	if diff := cmp.Diff(revoked, map[string]bool{"jp-1": true, "us-1": false}); diff != "" {
		t.Errorf("Status() revoked (-got, +want):\n%s", diff)
	}
	// The sensor stays enrolled; enrolling it again lets it back in.
	third := enroll(t, reg, sensor("jp-1", "Japan", "198.18.1.1"))
	if name, err := reg.SensorName(parseCert(t, third.CertPEM)); name != "jp-1" || err != nil {
		t.Errorf("SensorName(re-enrolled) = %q, %v; want jp-1", name, err)
	}
	if st := reg.Status(); st[0].Revoked() || st[0].Usable(time.Now()) != 1 {
		t.Errorf("after enrolling again Status()[0] = %+v, want one usable certificate", st[0])
	}
}

func TestSensorNameRefusesForeignCertificates(t *testing.T) {
	t.Parallel()
	reg, other := newRegistry(t), newRegistry(t)
	enroll(t, reg, sensor("jp-1", "Japan", "198.18.1.1"))
	foreign := enroll(t, other, sensor("jp-1", "Japan", "198.18.1.1"))
	if _, err := reg.SensorName(parseCert(t, foreign.CertPEM)); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("SensorName(another CA's certificate) error = %v, want unknown authority", err)
	}
	coll, err := os.ReadFile(filepath.Join(reg.Dir(), pki.CollectorCertFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SensorName(parseCert(t, coll)); err == nil || !strings.Contains(err.Error(), "incompatible key usage") {
		t.Errorf("SensorName(server certificate) error = %v, want incompatible key usage", err)
	}
	if _, err := reg.SensorName(nil); err == nil {
		t.Error("SensorName(nil) succeeded")
	}
}

func TestReloadKeepsLastGoodState(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	creds := enroll(t, reg, sensor("jp-1", "Japan", "198.18.1.1"))
	if _, err := reg.Revoke("jp-1"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(reg.Dir(), pki.RevokedFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A hand edit gone wrong: the revocations known stay in force.
	if err := os.WriteFile(path, []byte("revoked: [{"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Err() to report revoked.yaml", func() bool { return reg.Err() != nil })
	if err := reg.Err(); !strings.Contains(err.Error(), pki.RevokedFile) {
		t.Errorf("Err() = %v, want it to name %s", err, pki.RevokedFile)
	}
	if !reg.IsRevoked(creds.Serial) {
		t.Error("IsRevoked() = false while revoked.yaml is unreadable, want the last good state")
	}
	if _, err := reg.Enroll(sensor("jp-2", "Japan", "198.18.1.2"), year); err == nil || !strings.Contains(err.Error(), pki.RevokedFile) {
		t.Errorf("Enroll() with an unreadable revoked.yaml: error %v, want one naming it", err)
	}
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Err() to clear", func() bool { return reg.Err() == nil })
}

// waitFor polls cond for a few reload intervals.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 4*pki.ReloadInterval+time.Second {
			t.Fatalf("waited %v for %s", time.Since(start), what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestConcurrentReload runs the collector's calls while another process
// changes the registry; the race detector watches.
func TestConcurrentReload(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	creds := enroll(t, reg, sensor("jp-1", "Japan", "198.18.1.1"))
	cert := parseCert(t, creds.CertPEM)
	writer, err := pki.Open(reg.Dir())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				reg.IsRevoked(cert.SerialNumber)
				if _, err := reg.SensorName(cert); err != nil && !errors.Is(err, pki.ErrRevoked) {
					errs <- err
					return
				}
				for _, s := range reg.Status() {
					_ = s.Sensor.Prefixes()
				}
			}
		}()
	}
	for i := range 5 {
		if _, err := writer.Enroll(sensor("x-"+string(rune('a'+i)), "g", net.IPv4(198, 18, 9, byte(i)).String()), year); err != nil {
			t.Fatal(err)
		}
		time.Sleep(pki.ReloadInterval / 4)
	}
	if _, err := writer.Revoke("jp-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the revocation", func() bool { return reg.IsRevoked(cert.SerialNumber) })
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("SensorName() during reloads: %v", err)
		}
	}
	if got := len(reg.Sensors()); got != 6 {
		t.Errorf("Sensors() after the other process enrolled 5 = %d sensors, want 6", got)
	}
}

func TestReissueCollector(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	if err := reg.ReissueCollector([]string{"collector.example"}, year); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(reg.Dir(), pki.CollectorCertFile))
	if err != nil {
		t.Fatal(err)
	}
	if c := parseCert(t, data); !cmp.Equal(c.DNSNames, []string{"collector.example"}) || len(c.IPAddresses) != 0 {
		t.Errorf("reissued collector certificate names %v %v, want collector.example", c.DNSNames, c.IPAddresses)
	}
	if _, err := pki.Open(reg.Dir()); err != nil {
		t.Errorf("Open() after ReissueCollector: %v", err)
	}
	if err := reg.ReissueCollector([]string{"a b"}, year); err == nil {
		t.Error("ReissueCollector(bad host) succeeded")
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"jp-1", "a", "JP_tokyo.2", strings.Repeat("x", 64)} {
		if err := pki.ValidName(name); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", ".", "..", ".hidden", "a/b", "a\\b", "é", "a:b", strings.Repeat("x", 65)} {
		if err := pki.ValidName(name); err == nil {
			t.Errorf("ValidName(%q) = nil, want an error", name)
		}
	}
}

// BenchmarkSensorName: the collector's per-batch identity check.
func BenchmarkSensorName(b *testing.B) {
	reg, err := pki.Init(filepath.Join(b.TempDir(), "registry"), pki.InitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	creds, err := reg.Enroll(sensor("jp-1", "Japan", "198.18.1.1"), year)
	if err != nil {
		b.Fatal(err)
	}
	blk, _ := pem.Decode(creds.CertPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("SensorName", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.SensorName(cert); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("IsRevoked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if reg.IsRevoked(cert.SerialNumber) {
				b.Fatal("revoked")
			}
		}
	})
}
