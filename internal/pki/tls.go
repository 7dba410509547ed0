package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"
)

var clientAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}

// ServerTLS returns the collector's TLS configuration for reg. It accepts
// TLS 1.3 only; serves the registry's collector certificate (a reissued one
// from the next handshake on); and requires a client certificate that
// verifies against the CA for client authentication, whose serial is in
// issued.yaml for its common name, is not revoked, and whose sensor is in
// sensors.yaml. A refusal's error names the sensor. Session tickets are off,
// so every connection is verified afresh. A long-lived stream must still ask
// IsRevoked or SensorName now and then: a handshake's check holds for that
// moment only.
func ServerTLS(r *Registry) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  r.roots,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			st := r.refresh()
			if st.collector == nil {
				return nil, fmt.Errorf("no collector certificate: %w", st.err)
			}
			return st.collector, nil
		},
		// Go has verified the chain and the client-auth usage when this runs.
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
				return errors.New("no verified client certificate")
			}
			_, err := r.refresh().identify(cs.VerifiedChains[0][0])
			return err
		},
		SessionTicketsDisabled: true,
	}
}

// SensorName returns the name of the sensor a client certificate
// identifies: its common name, once the certificate verifies against the
// CA for client authentication, is recorded in issued.yaml for that name,
// is not revoked, and names a sensor of sensors.yaml. Otherwise the error
// says which check failed (errors.Is ErrRevoked, ErrNotIssued,
// ErrUnknownSensor) and names the sensor.
func (r *Registry) SensorName(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", errors.New("no client certificate")
	}
	// A chain verification costs ~140 µs; the collector asks for every
	// batch. A certificate that verified once needs only its dates checked.
	now := time.Now()
	if _, ok := r.verified.Load(string(cert.Raw)); !ok || now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: r.roots, KeyUsages: clientAuth, CurrentTime: now}); err != nil {
			return "", fmt.Errorf("sensor %q: certificate %s: %w", cert.Subject.CommonName, serialKey(cert.SerialNumber), err)
		}
		r.verified.Store(string(cert.Raw), struct{}{})
	}
	return r.refresh().identify(cert)
}

// identify checks a verified client certificate against the registry.
func (st *state) identify(cert *x509.Certificate) (string, error) {
	name, key := cert.Subject.CommonName, serialKey(cert.SerialNumber)
	if rv, ok := st.revoked[key]; ok {
		return "", fmt.Errorf("sensor %q: certificate %s %w on %s", rv.Sensor, key, ErrRevoked, rv.Time.Format(time.RFC3339))
	}
	if i, ok := st.bySerial[key]; !ok || st.issued[i].Sensor != name {
		return "", fmt.Errorf("sensor %q: certificate %s: %w", name, key, ErrNotIssued)
	}
	if _, ok := st.index[name]; !ok {
		return "", fmt.Errorf("sensor %q: %w (not in %s)", name, ErrUnknownSensor, SensorsFile)
	}
	return name, nil
}

// IsRevoked reports whether the certificate with this serial is revoked,
// as revoked.yaml said at most ReloadInterval ago. A nil serial counts as
// revoked. It is cheap enough to ask on every batch.
func (r *Registry) IsRevoked(serial *big.Int) bool {
	if serial == nil {
		return true
	}
	_, ok := r.refresh().revoked[serialKey(serial)]
	return ok
}

// ClientTLS returns a sensor's TLS configuration from the files
// Credentials.WriteDir wrote: TLS 1.3 at least, the sensor's certificate,
// and the collector verified against caFile's CA only (never the system's
// roots) for serverName (when empty, crypto/tls takes the host of the
// address dialled). It fails, naming the files, when one is unreadable, the
// key does not match the certificate, or the certificate does not verify
// against the CA (another CA's, expired, or not for client authentication).
func ClientTLS(certFile, keyFile, caFile, serverName string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("sensor TLS: CA: %w", err)
	}
	roots, n := x509.NewCertPool(), 0
	for rest := caPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		ca, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sensor TLS: CA %s: %w", caFile, err)
		}
		roots.AddCert(ca)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("sensor TLS: CA %s: no PEM CERTIFICATE block", caFile)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("sensor TLS: certificate %s, key %s: %w", certFile, keyFile, err)
	}
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: clientAuth}); err != nil {
		return nil, fmt.Errorf("sensor TLS: certificate %s against CA %s: %w", certFile, caFile, err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		RootCAs:      roots,
		ServerName:   serverName,
	}, nil
}
