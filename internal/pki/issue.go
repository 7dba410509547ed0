package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
)

// Credentials are what a sensor needs to connect: its certificate and key,
// and the CA that signs the collector's certificate.
type Credentials struct {
	// CertPEM is the sensor's client certificate.
	CertPEM []byte
	// KeyPEM is the certificate's private key (PKCS #8); keep it secret.
	KeyPEM []byte
	// CAPEM is the registry's CA certificate.
	CAPEM []byte
	// Serial is the certificate's serial number.
	Serial *big.Int
	// NotAfter is when the certificate expires.
	NotAfter time.Time
}

// WriteDir writes the credentials into dir (made with mode 0700 if
// missing) as sensor.crt, sensor.key (mode 0600) and ca.crt, replacing
// files of those names.
func (c Credentials) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{SensorKeyFile, c.KeyPEM, 0o600},
		{SensorCertFile, c.CertPEM, 0o644},
		{SensorCAFile, c.CAPEM, 0o644},
	} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return fmt.Errorf("write credentials: %w", err)
		}
	}
	return nil
}

// Enroll adds the sensor to sensors.yaml, or updates its group, country,
// description and addresses when it is enrolled already, and issues it a
// new client certificate valid for validity. Earlier certificates of the
// sensor stay valid until revoked. The sensor must satisfy ValidName and
// fleet's rules (parsable addresses that overlap no other sensor's); a
// country must be an ISO 3166-1 alpha-2 code (stored in upper case); the
// group, description and addresses may hold no control character.
func (r *Registry) Enroll(s fleet.Sensor, validity time.Duration) (Credentials, error) {
	s = cleanSensor(s)
	if err := ValidName(s.Name); err != nil {
		return Credentials{}, fmt.Errorf("enroll: %w", err)
	}
	fail := func(err error) (Credentials, error) {
		return Credentials{}, fmt.Errorf("enroll sensor %q: %w", s.Name, err)
	}
	if err := validTexts(s); err != nil {
		return fail(err)
	}
	if s.Country != "" {
		s.Country = strings.ToUpper(s.Country)
		if len(s.Country) != 2 || !isUpperAlpha(s.Country) {
			return fail(fmt.Errorf("country %q: want an ISO 3166-1 alpha-2 code such as JP", s.Country))
		}
	}
	now := time.Now()
	if validity <= 0 {
		return fail(fmt.Errorf("validity %v: want more than 0", validity))
	}
	if end := now.Add(validity); end.After(r.ca.NotAfter) {
		return fail(fmt.Errorf("validity %v ends after the CA expires on %s", validity, r.ca.NotAfter.Format(time.DateOnly)))
	}

	var creds Credentials
	err := r.change(func(old *state) error {
		sensors := make([]fleet.Sensor, 0, len(old.sensors)+1)
		replaced := false
		for _, o := range old.sensors {
			if o.Name == s.Name {
				o, replaced = s, true
			}
			sensors = append(sensors, cleanSensor(o))
		}
		if !replaced {
			sensors = append(sensors, s)
		}
		f := fleet.Fleet{Sensors: sensors}
		if err := f.Validate(); err != nil {
			return err
		}
		sensorsYAML, err := marshalSensors(&f)
		if err != nil {
			return err
		}
		c, err := r.issue(&x509.Certificate{
			Subject:     pkix.Name{CommonName: s.Name},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, validity, now, old.bySerial)
		if err != nil {
			return err
		}
		issued := append(slices.Clip(old.issued), Certificate{
			Serial: c.cert.SerialNumber, Sensor: s.Name,
			NotBefore: c.cert.NotBefore, NotAfter: c.cert.NotAfter,
		})
		// The ledger first: a certificate is recorded before it exists
		// anywhere else.
		issuedYAML, err := marshalIssued(issued)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(r.dir, IssuedFile), issuedYAML, 0o644); err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(r.dir, SensorsFile), sensorsYAML, 0o644); err != nil {
			return err
		}
		creds = Credentials{CertPEM: c.certPEM, KeyPEM: c.keyPEM, CAPEM: r.caPEM, Serial: c.cert.SerialNumber, NotAfter: c.cert.NotAfter}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return creds, nil
}

// Revoke revokes every certificate ever issued to the sensor that is not
// revoked yet and returns how many it revoked (0 when all already were).
// The sensor stays in sensors.yaml: its data keeps its name, and enrolling
// it again issues a new certificate.
func (r *Registry) Revoke(name string) (int, error) {
	n := 0
	err := r.change(func(old *state) error {
		_, enrolled := old.index[name]
		var add []revocation
		now := time.Now().UTC().Truncate(time.Second)
		for _, c := range old.issued {
			if c.Sensor != name {
				continue
			}
			enrolled = true
			if _, done := old.revoked[serialKey(c.Serial)]; !done {
				add = append(add, revocation{Serial: c.Serial, Sensor: name, Time: now})
			}
		}
		if !enrolled {
			return ErrUnknownSensor
		}
		if len(add) == 0 {
			return nil
		}
		all := make([]revocation, 0, len(old.revokedList)+len(add))
		all = append(append(all, old.revokedList...), add...)
		data, err := marshalRevoked(all)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(r.dir, RevokedFile), data, 0o644); err != nil {
			return err
		}
		n = len(add)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("revoke sensor %q: %w", name, err)
	}
	return n, nil
}

// ReissueCollector replaces the collector's certificate and key with new
// ones valid for hosts (DNS names and IP addresses) during validity. A
// running collector that serves ServerTLS picks them up within
// ReloadInterval; sensors need no change, as they trust the CA.
func (r *Registry) ReissueCollector(hosts []string, validity time.Duration) error {
	if validity <= 0 {
		return fmt.Errorf("reissue collector certificate: validity %v: want more than 0", validity)
	}
	return r.change(func(*state) error {
		c, err := r.issueCollector(hosts, validity, time.Now())
		if err != nil {
			return fmt.Errorf("reissue collector certificate: %w", err)
		}
		// Between the two renames the pair does not match; readers keep
		// the previous pair until both are in place.
		if err := writeFileAtomic(filepath.Join(r.dir, CollectorKeyFile), c.keyPEM, 0o600); err != nil {
			return err
		}
		return writeFileAtomic(filepath.Join(r.dir, CollectorCertFile), c.certPEM, 0o644)
	})
}

// change applies fn to the current state under the directory's lock, then
// reloads the files fn wrote. fn sees what other processes wrote before.
func (r *Registry) change(fn func(old *state) error) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	unlock, err := lockDir(r.dir)
	if err != nil {
		return err
	}
	defer unlock()
	old := r.reload(true)
	if old.err != nil {
		return old.err
	}
	if err := fn(old); err != nil {
		return err
	}
	return r.reload(true).err
}

// issued is a new certificate and its key.
type issued struct {
	cert            *x509.Certificate
	key             *ecdsa.PrivateKey
	certPEM, keyPEM []byte
}

// newCA makes a self-signed CA.
func newCA(name string, now time.Time) (issued, error) {
	return sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Nightjar"}},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}, CAValidity, now, nil, nil, nil)
}

// issueCollector makes a server certificate for hosts.
func (r *Registry) issueCollector(hosts []string, validity time.Duration, now time.Time) (issued, error) {
	names, ips, err := splitHosts(hosts)
	if err != nil {
		return issued{}, err
	}
	return r.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    names,
		IPAddresses: ips,
	}, validity, now, nil)
}

// issue makes a certificate signed by the CA, with a serial that is not a
// key of taken.
func (r *Registry) issue(tmpl *x509.Certificate, validity time.Duration, now time.Time, taken map[string]int) (issued, error) {
	return sign(tmpl, validity, now, r.ca, r.caKey, taken)
}

// sign completes tmpl with a new P-256 key, a random 128-bit serial and
// the validity, and signs it with parentKey (self-signed when parent is nil).
func sign(tmpl *x509.Certificate, validity time.Duration, now time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, taken map[string]int) (issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return issued{}, fmt.Errorf("generate key: %w", err)
	}
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		tmpl.SerialNumber, err = rand.Int(rand.Reader, limit)
		if err != nil {
			return issued{}, fmt.Errorf("generate serial: %w", err)
		}
		if _, dup := taken[serialKey(tmpl.SerialNumber)]; !dup && tmpl.SerialNumber.Sign() > 0 {
			break
		}
	}
	tmpl.NotBefore = now.Add(-clockSkew).UTC().Truncate(time.Second)
	tmpl.NotAfter = now.Add(validity).UTC().Truncate(time.Second)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return issued{}, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return issued{}, fmt.Errorf("sign certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return issued{}, fmt.Errorf("encode key: %w", err)
	}
	return issued{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}, nil
}

// parsePair decodes a PEM certificate and its PEM ECDSA key and checks that
// they belong together.
func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("no PEM CERTIFICATE block in the certificate file")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || !strings.HasSuffix(kb.Type, "PRIVATE KEY") {
		return nil, nil, errors.New("no PEM PRIVATE KEY block in the key file")
	}
	var key any
	switch kb.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("key: %w", err)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("key: %T, want an ECDSA key", key)
	}
	if !ek.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("the key does not match the certificate")
	}
	return cert, ek, nil
}

// splitHosts sorts hosts into DNS names and IP addresses.
func splitHosts(hosts []string) (names []string, ips []net.IP, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("no collector host names or addresses")
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if !validHostname(h) {
			return nil, nil, fmt.Errorf("collector host %q: neither an IP address nor a DNS name", h)
		}
		names = append(names, h)
	}
	return names, ips, nil
}

// validHostname accepts DNS names of letters, digits, '-' and '.', and a
// leading "*." wildcard.
func validHostname(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validTexts refuses invalid UTF-8, control characters (newline, tab,
// escape...) and bidirectional overrides in a sensor's texts: "ca list"
// prints them as they are, where a newline would forge a sensor's line.
func validTexts(s fleet.Sensor) error {
	check := func(what, text string) error {
		if !utf8.ValidString(text) {
			return fmt.Errorf("%s %q: not valid UTF-8", what, text)
		}
		for i, c := range text {
			if unicode.IsControl(c) || unicode.Is(unicode.Bidi_Control, c) {
				return fmt.Errorf("%s %q: control character %U at byte %d", what, text, c, i)
			}
		}
		return nil
	}
	if err := check("group", s.Group); err != nil {
		return err
	}
	if err := check("description", s.Description); err != nil {
		return err
	}
	for _, a := range s.Addresses {
		if err := check("address", a); err != nil {
			return err
		}
	}
	return nil
}

func isUpperAlpha(s string) bool {
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// cleanSensor copies the exported fields of s: fleet.Validate rewrites a
// sensor's parsed prefixes in place, which other goroutines may be reading
// in a shared copy.
func cleanSensor(s fleet.Sensor) fleet.Sensor {
	return fleet.Sensor{
		Name:        strings.TrimSpace(s.Name),
		Group:       s.Group,
		Country:     s.Country,
		Description: s.Description,
		Addresses:   slices.Clone(s.Addresses),
	}
}
