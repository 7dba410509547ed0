package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
)

// state is one consistent reading of the registry's files. It is never
// changed once published: a reload makes a new one.
type state struct {
	stamps      []stamp
	sensors     []fleet.Sensor // validated; index by name in index
	index       map[string]int
	issued      []Certificate // RevokedAt unset; see revoked
	bySerial    map[string]int
	revokedList []revocation // in file order
	revoked     map[string]revocation
	collector   *tls.Certificate
	// err is why the files last failed to load; the rest is then the
	// last good state (empty when there was none).
	err error
}

// watched are the files whose changes a Registry reloads.
var watched = []string{SensorsFile, IssuedFile, RevokedFile, CollectorCertFile, CollectorKeyFile}

// stamp identifies one version of a file: a rename (how every writer
// replaces a file) changes its identity, an edit in place its time or size.
type stamp struct {
	info   os.FileInfo // nil when the file is missing
	failed bool        // stat failed for another reason: never the same
}

func (a stamp) same(b stamp) bool {
	if a.failed || b.failed || a.info == nil || b.info == nil {
		return !a.failed && !b.failed && a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime())
}

func (r *Registry) statFiles() []stamp {
	out := make([]stamp, len(watched))
	for i, name := range watched {
		fi, err := os.Stat(filepath.Join(r.dir, name))
		switch {
		case err == nil:
			out[i].info = fi
		case !errors.Is(err, fs.ErrNotExist):
			out[i].failed = true
		}
	}
	return out
}

// refresh returns the current state, reloading it first when ReloadInterval
// has passed since the files were last looked at and one of them changed.
// Only one caller looks; the others use the current state meanwhile.
func (r *Registry) refresh() *state {
	now := time.Now().UnixNano()
	next := r.nextCheck.Load()
	if now >= next && r.nextCheck.CompareAndSwap(next, now+int64(ReloadInterval)) {
		return r.reload(false)
	}
	return r.cur.Load()
}

// reload reads the files when force is set or one changed, and publishes
// the new state. When they cannot be read it publishes the last good state
// with the error, keeping the old stamps so that the next look retries.
func (r *Registry) reload(force bool) *state {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	old := r.cur.Load()
	stamps := r.statFiles()
	if !force && old != nil && sameStamps(old.stamps, stamps) {
		return old
	}
	s, err := r.load(stamps)
	if err != nil {
		s = &state{}
		if old != nil {
			*s = *old
		}
		s.err = err
	}
	r.cur.Store(s)
	return s
}

func sameStamps(a, b []stamp) bool {
	for i := range a {
		if !a[i].same(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// load reads every watched file.
func (r *Registry) load(stamps []stamp) (*state, error) {
	s := &state{stamps: stamps, index: map[string]int{}, bySerial: map[string]int{}, revoked: map[string]revocation{}}
	data, err := os.ReadFile(filepath.Join(r.dir, SensorsFile))
	switch {
	case err == nil:
		f, err := fleet.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", SensorsFile, err)
		}
		s.sensors = f.Sensors
		for i, sn := range s.sensors {
			s.index[sn.Name] = i
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}

	var issued issuedFile
	if err := r.readLedger(IssuedFile, &issued); err != nil {
		return nil, err
	}
	for i, e := range issued.Certificates {
		serial, err := parseSerial(e.Serial)
		if err == nil && e.Sensor == "" {
			err = errors.New("no sensor")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: certificate #%d: %w", IssuedFile, i+1, err)
		}
		key := serialKey(serial)
		if _, dup := s.bySerial[key]; dup {
			return nil, fmt.Errorf("%s: serial %s listed twice", IssuedFile, key)
		}
		s.bySerial[key] = len(s.issued)
		s.issued = append(s.issued, Certificate{Serial: serial, Sensor: e.Sensor, NotBefore: e.NotBefore, NotAfter: e.NotAfter})
	}
	if len(s.issued) > 0 && s.sensors == nil {
		return nil, fmt.Errorf("%s is missing, but %s lists %d certificates", SensorsFile, IssuedFile, len(s.issued))
	}

	var revoked revokedFile
	if err := r.readLedger(RevokedFile, &revoked); err != nil {
		return nil, err
	}
	for i, e := range revoked.Revoked {
		serial, err := parseSerial(e.Serial)
		if err != nil {
			return nil, fmt.Errorf("%s: entry #%d: %w", RevokedFile, i+1, err)
		}
		rv := revocation{Serial: serial, Sensor: e.Sensor, Time: e.Time}
		s.revokedList = append(s.revokedList, rv)
		s.revoked[serialKey(serial)] = rv
	}

	coll, err := tls.LoadX509KeyPair(filepath.Join(r.dir, CollectorCertFile), filepath.Join(r.dir, CollectorKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", CollectorCertFile, CollectorKeyFile, err)
	}
	if _, err := coll.Leaf.Verify(x509.VerifyOptions{Roots: r.roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, fmt.Errorf("%s: %w", CollectorCertFile, err)
	}
	s.collector = &coll
	return s, nil
}

// readLedger decodes issued.yaml or revoked.yaml strictly.
func (r *Registry) readLedger(name string, v any) error {
	data, err := os.ReadFile(filepath.Join(r.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is missing", name)
	}
	if err != nil {
		return err
	}
	if err := yamlstrict.Decode(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// issuedFile is the format of issued.yaml.
type issuedFile struct {
	Certificates []issuedEntry `yaml:"certificates"`
}

type issuedEntry struct {
	Serial    string    `yaml:"serial"`
	Sensor    string    `yaml:"sensor"`
	NotBefore time.Time `yaml:"not_before"`
	NotAfter  time.Time `yaml:"not_after"`
}

// revokedFile is the format of revoked.yaml.
type revokedFile struct {
	Revoked []revokedEntry `yaml:"revoked"`
}

type revokedEntry struct {
	Serial string    `yaml:"serial"`
	Sensor string    `yaml:"sensor"`
	Time   time.Time `yaml:"time"`
}

// revocation is one revoked certificate.
type revocation struct {
	Serial *big.Int
	Sensor string
	Time   time.Time
}

func marshalIssued(certs []Certificate) ([]byte, error) {
	f := issuedFile{Certificates: []issuedEntry{}}
	for _, c := range certs {
		f.Certificates = append(f.Certificates, issuedEntry{serialKey(c.Serial), c.Sensor, c.NotBefore.UTC(), c.NotAfter.UTC()})
	}
	return marshalLedger("Every client certificate this registry's CA issued (nightjar ca enroll).", f)
}

func marshalRevoked(revs []revocation) ([]byte, error) {
	f := revokedFile{Revoked: []revokedEntry{}}
	for _, rv := range revs {
		f.Revoked = append(f.Revoked, revokedEntry{serialKey(rv.Serial), rv.Sensor, rv.Time.UTC()})
	}
	return marshalLedger("Revoked client certificates (nightjar ca revoke). A running collector rereads this file.", f)
}

func marshalSensors(f *fleet.Fleet) ([]byte, error) {
	return marshalLedger("Sensors enrolled in this registry (nightjar ca enroll); nightjar ingest --sensors reads this file.", f)
}

func marshalLedger(comment string, v any) ([]byte, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte("# "+comment+"\n"), data...), nil
}

// serialKey writes a serial as openssl prints it: upper-case hexadecimal,
// two digits a byte.
func serialKey(n *big.Int) string {
	return strings.ToUpper(hex.EncodeToString(n.Bytes()))
}

func parseSerial(s string) (*big.Int, error) {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok || n.Sign() <= 0 {
		return nil, fmt.Errorf("serial %q: want a positive hexadecimal number", s)
	}
	return n, nil
}

// writeFileAtomic replaces path with data: readers see the old file or the
// new one, never a part, and the new one survives a crash once this returns.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
