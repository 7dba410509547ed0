package pki_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/pki"
)

// collector is a TLS server over loopback configured with ServerTLS: it
// greets each sensor by the name SensorName gives, and reports every
// handshake's outcome on results.
type collector struct {
	addr    string
	results chan error
}

func startCollector(t *testing.T, reg *pki.Registry) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c := &collector{addr: ln.Addr().String(), results: make(chan error, 1)}
	cfg := pki.ServerTLS(reg)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(conn, cfg)
				err := tc.Handshake()
				if err == nil {
					var name string
					name, err = reg.SensorName(tc.ConnectionState().PeerCertificates[0])
					io.WriteString(tc, "hello "+name)
					tc.Close()
				}
				c.results <- err
			}()
		}
	}()
	return c
}

// connect dials the collector with cfg and returns what the collector said
// and the collector's handshake error.
func (c *collector) connect(t *testing.T, cfg *tls.Config) (greeting string, clientErr, serverErr error) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", c.addr, cfg)
	if err == nil {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		var b []byte
		// With TLS 1.3 the client's handshake ends before the collector
		// has checked its certificate: a refusal shows on the first read.
		b, err = io.ReadAll(conn)
		greeting = string(b)
		conn.Close()
	}
	select {
	case serverErr = <-c.results:
	case <-time.After(5 * time.Second):
		t.Fatal("the collector reported no handshake")
	}
	return greeting, err, serverErr
}

// sensorFiles enrolls a sensor and writes its credentials to a directory.
func sensorFiles(t *testing.T, reg *pki.Registry, name, addr string) (dir string, creds pki.Credentials) {
	t.Helper()
	creds = enroll(t, reg, sensor(name, "Japan", addr))
	dir = filepath.Join(t.TempDir(), name)
	if err := creds.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir, creds
}

func clientTLS(t *testing.T, dir string) *tls.Config {
	t.Helper()
	cfg, err := pki.ClientTLS(filepath.Join(dir, pki.SensorCertFile), filepath.Join(dir, pki.SensorKeyFile), filepath.Join(dir, pki.SensorCAFile), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// collectorAndSensor starts a collector on a new registry and enrolls
// sensor jp-1, returning its TLS configuration and credentials.
func collectorAndSensor(t *testing.T) (*pki.Registry, *collector, *tls.Config, pki.Credentials) {
	t.Helper()
	reg := newRegistry(t)
	coll := startCollector(t, reg)
	dir, creds := sensorFiles(t, reg, "jp-1", "198.18.1.1")
	return reg, coll, clientTLS(t, dir), creds
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	reg, coll, good, _ := collectorAndSensor(t)

	if got, cerr, serr := coll.connect(t, good); got != "hello jp-1" || cerr != nil || serr != nil {
		t.Fatalf("enrolled sensor: got %q, client error %v, collector error %v; want hello jp-1", got, cerr, serr)
	}

	// The other configurations trust the right CA but present a wrong
	// certificate, so that the collector is the one refusing.
	otherDir, _ := sensorFiles(t, newRegistry(t), "jp-1", "198.18.1.1")
	foreign, err := tls.LoadX509KeyPair(filepath.Join(otherDir, pki.SensorCertFile), filepath.Join(otherDir, pki.SensorKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	server, err := tls.LoadX509KeyPair(filepath.Join(reg.Dir(), pki.CollectorCertFile), filepath.Join(reg.Dir(), pki.CollectorKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	with := func(certs ...tls.Certificate) *tls.Config {
		cfg := good.Clone()
		cfg.Certificates = certs
		return cfg
	}
	tests := []struct {
		name string
		cfg  *tls.Config
		want string // in the collector's error
	}{
		{"no client certificate", with(), "client didn't provide a certificate"},
		{"another CA's certificate", with(foreign), "certificate signed by unknown authority"},
		{"server-auth certificate as client", with(server), "incompatible key usage"},
	}
	for _, tt := range tests {
		_, cerr, serr := coll.connect(t, tt.cfg)
		if cerr == nil || serr == nil || !strings.Contains(serr.Error(), tt.want) {
			t.Errorf("%s: client error %v, collector error %v; want both, the collector's containing %q", tt.name, cerr, serr, tt.want)
		}
	}

	// TLS 1.2 is refused.
	old := good.Clone()
	old.MaxVersion = tls.VersionTLS12
	if _, cerr, serr := coll.connect(t, old); cerr == nil || serr == nil {
		t.Errorf("TLS 1.2: client error %v, collector error %v; want a refusal", cerr, serr)
	}
}

// TestRevokedByAnotherProcess: a second Registry on the same directory, as
// "nightjar ca revoke" in another process, revokes the sensor; the running
// collector refuses it within ReloadInterval, naming it.
func TestRevokedByAnotherProcess(t *testing.T) {
	t.Parallel()
	reg, coll, cfg, creds := collectorAndSensor(t)
	us1, _ := sensorFiles(t, reg, "us-1", "198.19.1.1")
	keep := clientTLS(t, us1)
	if got, cerr, serr := coll.connect(t, cfg); got != "hello jp-1" || cerr != nil || serr != nil {
		t.Fatalf("before revocation: got %q, client error %v, collector error %v", got, cerr, serr)
	}

	admin, err := pki.Open(reg.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := admin.Revoke("jp-1"); n != 1 || err != nil {
		t.Fatalf("Revoke() = %d, %v", n, err)
	}
	// IsRevoked is cheap to poll closely; the handshake follows the same state.
	took := waitFor(t, "the collector's registry to see the revocation", func() bool { return reg.IsRevoked(creds.Serial) })
	if took > pki.ReloadInterval+250*time.Millisecond {
		t.Errorf("the collector's registry saw the revocation after %v, want within %v", took, pki.ReloadInterval)
	}
	_, cerr, serr := coll.connect(t, cfg)
	if cerr == nil || !errors.Is(serr, pki.ErrRevoked) || !strings.Contains(serr.Error(), `sensor "jp-1"`) {
		t.Errorf("revoked sensor: client error %v, collector error %v; want a refusal, ErrRevoked naming jp-1", cerr, serr)
	}
	if got, cerr, serr := coll.connect(t, keep); got != "hello us-1" || cerr != nil || serr != nil {
		t.Errorf("other sensor after revocation: got %q, client error %v, collector error %v", got, cerr, serr)
	}
}

// TestCollectorCertificateReissued: a running collector serves the
// reissued certificate without a restart.
func TestCollectorCertificateReissued(t *testing.T) {
	t.Parallel()
	reg, coll, cfg, _ := collectorAndSensor(t)
	cfg.ServerName = "collector.example"
	if _, cerr, _ := coll.connect(t, cfg); cerr == nil {
		t.Fatal("the sensor accepted a collector certificate not valid for collector.example")
	}
	admin, err := pki.Open(reg.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.ReissueCollector([]string{"collector.example"}, year); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reissued certificate", func() bool {
		got, _, _ := coll.connect(t, cfg)
		return got == "hello jp-1"
	})
}

func TestClientTLSErrors(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	dir, _ := sensorFiles(t, reg, "jp-1", "198.18.1.1")
	dir2, _ := sensorFiles(t, reg, "jp-2", "198.18.1.2")
	otherDir, _ := sensorFiles(t, newRegistry(t), "jp-1", "198.18.1.1")
	expired := filepath.Join(t.TempDir(), "expired")
	creds, err := reg.Enroll(sensor("jp-3", "Japan", "198.18.1.3"), time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := creds.WriteDir(expired); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.crt")
	os.WriteFile(garbage, []byte("hello"), 0o600)
	f := func(d, name string) string { return filepath.Join(d, name) }
	tests := []struct {
		name          string
		cert, key, ca string
		want          []string
	}{
		{"missing certificate", f(dir, "nope.crt"), f(dir, pki.SensorKeyFile), f(dir, pki.SensorCAFile), []string{"nope.crt", "no such file"}},
		{"missing CA", f(dir, pki.SensorCertFile), f(dir, pki.SensorKeyFile), f(dir, "nope-ca.crt"), []string{"nope-ca.crt", "no such file"}},
		{"CA not PEM", f(dir, pki.SensorCertFile), f(dir, pki.SensorKeyFile), garbage, []string{"garbage.crt", "no PEM CERTIFICATE block"}},
		{"another sensor's key", f(dir, pki.SensorCertFile), f(dir2, pki.SensorKeyFile), f(dir, pki.SensorCAFile), []string{dir2, "private key does not match public key"}},
		{"another CA", f(otherDir, pki.SensorCertFile), f(otherDir, pki.SensorKeyFile), f(dir, pki.SensorCAFile), []string{otherDir, "unknown authority"}},
		{"expired", f(expired, pki.SensorCertFile), f(expired, pki.SensorKeyFile), f(expired, pki.SensorCAFile), []string{expired, "expired"}},
	}
	for _, tt := range tests {
		_, err := pki.ClientTLS(tt.cert, tt.key, tt.ca, "localhost")
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: ClientTLS() error = %v, want it to contain %q", tt.name, err, w)
			}
		}
	}
}
