// Package pki is the sensors' certificate authority and registry. It owns
// one directory that holds the CA, the collector's server certificate, the
// enrolled sensors and the ledger of every client certificate issued and
// revoked; it issues certificates, revokes them, and builds the mutual-TLS
// configurations of the collector (ServerTLS) and of a sensor (ClientTLS).
//
// A registry directory (mode 0700) holds:
//
//	ca.crt, ca.key                 the CA: ECDSA P-256, valid 10 years
//	collector.crt, collector.key   the collector's server certificate
//	sensors.yaml                   the enrolled sensors, in the format fleet.Load reads
//	issued.yaml                    every client certificate issued: serial, sensor, validity
//	revoked.yaml                   the revoked serials, with sensor and time
//
// Keys are PKCS #8 PEM files of mode 0600. Every file is replaced atomically
// (a temporary file, fsync, rename), and changes take an advisory lock on
// the directory's .lock file, so that "nightjar ca" commands run while a
// collector reads the same directory. A Registry notices changes made by
// other processes: see Registry.
package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Names of the files of a registry directory.
const (
	CACertFile        = "ca.crt"
	CAKeyFile         = "ca.key"
	CollectorCertFile = "collector.crt"
	CollectorKeyFile  = "collector.key"
	SensorsFile       = "sensors.yaml"
	IssuedFile        = "issued.yaml"
	RevokedFile       = "revoked.yaml"
	lockFile          = ".lock"
)

// Names of the files Credentials.WriteDir writes for a sensor.
const (
	SensorCertFile = "sensor.crt"
	SensorKeyFile  = "sensor.key"
	SensorCAFile   = "ca.crt"
)

const (
	// CAValidity is how long the CA made by Init is valid.
	CAValidity = 10 * 365 * 24 * time.Hour
	// DefaultCollectorValidity is the validity of the collector's
	// certificate when InitOptions does not give one.
	DefaultCollectorValidity = 2 * 365 * 24 * time.Hour
	// ReloadInterval is how often, at most, a Registry looks at the
	// modification time and size of its files to notice changes made by
	// another process. Looking costs a few stat calls.
	ReloadInterval = 250 * time.Millisecond
	// clockSkew backdates every certificate's start, for machines whose
	// clocks run late.
	clockSkew = time.Hour
	// maxNameLen is the upper bound of a certificate's common name (RFC 5280).
	maxNameLen = 64
)

// DefaultHosts are the collector certificate's names when InitOptions
// gives none.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

var (
	// ErrExists is returned by Init when the directory already holds a registry.
	ErrExists = errors.New("a registry already exists there")
	// ErrUnknownSensor is returned for a sensor that was never enrolled.
	ErrUnknownSensor = errors.New("sensor not enrolled in this registry")
	// ErrRevoked is returned for a revoked certificate.
	ErrRevoked = errors.New("revoked")
	// ErrNotIssued is returned for a certificate the CA signed but the
	// registry has no record of (or records for another sensor).
	ErrNotIssued = errors.New("not in the registry's issued certificates")
)

// InitOptions are the choices made when a registry is created.
type InitOptions struct {
	// Hosts are the DNS names and IP addresses sensors use to reach the
	// collector; its certificate is valid for them. Default: DefaultHosts.
	Hosts []string
	// CAName is the CA's common name. Default: "Nightjar sensor CA".
	CAName string
	// CollectorValidity is how long the collector's certificate is valid.
	// Default: DefaultCollectorValidity.
	CollectorValidity time.Duration
}

// Registry is an open registry directory.
//
// Its methods are safe for concurrent use. The collector's goroutines call
// IsRevoked, SensorName and the TLS hooks while other processes change the
// files: each such call looks at the files' modification time, size and
// identity at most every ReloadInterval and, when one changed, rereads them
// all and switches to the new state at once. A revocation written by another
// process therefore takes effect at the first call made ReloadInterval after
// it, at the latest. When the files cannot be read (a hand edit gone wrong),
// the last good state stays in use and Err says why.
type Registry struct {
	dir   string
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	caPEM []byte
	roots *x509.CertPool

	cur       atomic.Pointer[state]
	nextCheck atomic.Int64 // Unix nanoseconds before which the files are not looked at
	reloadMu  sync.Mutex   // one reload at a time
	writeMu   sync.Mutex   // one change at a time in this process; the file lock covers others
	verified  sync.Map     // string(cert.Raw) of client certificates that verified against the CA
}

// Dir returns the registry's directory.
func (r *Registry) Dir() string { return r.dir }

// CA returns the CA certificate.
func (r *Registry) CA() *x509.Certificate { return r.ca }

// CAPEM returns the CA certificate as PEM.
func (r *Registry) CAPEM() []byte { return r.caPEM }

// CollectorCertificate returns the collector's certificate in use, nil
// when none could be loaded.
func (r *Registry) CollectorCertificate() *x509.Certificate {
	if c := r.refresh().collector; c != nil {
		return c.Leaf
	}
	return nil
}

// Err returns why the files last failed to load, or nil when the state in
// use is the one on disk.
func (r *Registry) Err() error {
	r.refresh()
	return r.cur.Load().err
}

// Init creates a registry in dir (made if missing, and set to mode 0700): a
// new CA and a collector certificate for opts.Hosts. It refuses a directory
// that already holds a registry's files.
func Init(dir string, opts InitOptions) (*Registry, error) {
	if dir == "" {
		return nil, errors.New("init registry: no directory given")
	}
	if opts.CAName == "" {
		opts.CAName = "Nightjar sensor CA"
	}
	if opts.CollectorValidity == 0 {
		opts.CollectorValidity = DefaultCollectorValidity
	}
	if opts.CollectorValidity < 0 || opts.CollectorValidity > CAValidity {
		return nil, fmt.Errorf("init registry %s: collector validity %v: want more than 0 and at most the CA's %v", dir, opts.CollectorValidity, CAValidity)
	}
	if len(opts.Hosts) == 0 {
		opts.Hosts = DefaultHosts
	}
	if _, _, err := splitHosts(opts.Hosts); err != nil {
		return nil, fmt.Errorf("init registry %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("init registry: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("init registry: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("init registry %s: %w", dir, err)
	}
	defer unlock()
	for _, name := range []string{CACertFile, CAKeyFile, CollectorCertFile, CollectorKeyFile, SensorsFile, IssuedFile, RevokedFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("init registry %s: %w (%s is present)", dir, ErrExists, name)
		}
	}

	now := time.Now()
	ca, err := newCA(opts.CAName, now)
	if err != nil {
		return nil, fmt.Errorf("init registry %s: %w", dir, err)
	}
	r := &Registry{dir: dir, ca: ca.cert, caKey: ca.key, caPEM: ca.certPEM}
	coll, err := r.issueCollector(opts.Hosts, opts.CollectorValidity, now)
	if err != nil {
		return nil, fmt.Errorf("init registry %s: %w", dir, err)
	}
	issuedYAML, err := marshalIssued(nil)
	if err != nil {
		return nil, fmt.Errorf("init registry %s: %w", dir, err)
	}
	revokedYAML, err := marshalRevoked(nil)
	if err != nil {
		return nil, fmt.Errorf("init registry %s: %w", dir, err)
	}
	// The key first: a directory with a CA certificate and no key is
	// reported as such by Open, never used.
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{CAKeyFile, ca.keyPEM, 0o600},
		{CACertFile, ca.certPEM, 0o644},
		{IssuedFile, issuedYAML, 0o644},
		{RevokedFile, revokedYAML, 0o644},
		{CollectorKeyFile, coll.keyPEM, 0o600},
		{CollectorCertFile, coll.certPEM, 0o644},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return nil, fmt.Errorf("init registry: %w", err)
		}
	}
	return Open(dir)
}

// Open loads the registry in dir. It fails, naming the file, when the
// directory or a file is missing or unreadable, or when a key does not match
// its certificate. sensors.yaml may be missing while no certificate was
// issued.
func Open(dir string) (*Registry, error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open registry: directory %s does not exist (nightjar ca init creates a registry)", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open registry: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open registry: %s is not a directory", dir)
	}
	certPEM, err := readRegistryFile(dir, CACertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readRegistryFile(dir, CAKeyFile)
	if err != nil {
		return nil, err
	}
	ca, key, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("open registry %s: %s, %s: %w", dir, CACertFile, CAKeyFile, err)
	}
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("open registry %s: %s is not a CA certificate", dir, CACertFile)
	}
	r := &Registry{dir: dir, ca: ca, caKey: key, caPEM: certPEM, roots: x509.NewCertPool()}
	r.roots.AddCert(ca)
	if err := r.reload(true).err; err != nil {
		return nil, fmt.Errorf("open registry %s: %w", dir, err)
	}
	return r, nil
}

// readRegistryFile reads a file that every registry has.
func readRegistryFile(dir, name string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open registry %s: %s is missing (is this a registry? nightjar ca init creates one)", dir, name)
	}
	if err != nil {
		return nil, fmt.Errorf("open registry: %w", err)
	}
	return data, nil
}

// ValidName checks that name can be a sensor's name: a certificate common
// name and a file name, of letters, digits, '.', '_' and '-', starting with
// a letter or digit, at most 64 bytes.
func ValidName(name string) error {
	if name == "" {
		return errors.New("sensor name is empty")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("sensor name %q: longer than %d bytes", name, maxNameLen)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			i > 0 && strings.ContainsRune("._-", c)
		if !ok {
			return fmt.Errorf("sensor name %q: want letters, digits, '.', '_' and '-', starting with a letter or digit", name)
		}
	}
	return nil
}
