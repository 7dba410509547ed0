// Package smtptest is an SMTP server for tests: a sink that records the
// mails it receives (github.com/emersion/go-smtp), wants AUTH (PLAIN or
// LOGIN) with its credentials, can refuse recipients, and speaks in clear,
// with STARTTLS or with TLS from the first byte, on 127.0.0.1 with a
// certificate made for the test.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Sink is an SMTP server's backend that records what it is sent. It
// wants AUTH (PLAIN, or LOGIN) with its credentials before MAIL and
// refuses the recipients in refuse.
type Sink struct {
	User, Pass string
	Refuse     map[string]bool
	// CertPEM is the server's certificate, set by Start (for a client
	// that reads its roots from a file).
	CertPEM []byte

	mu       sync.Mutex
	mails    []Mail
	attempts []string // the usernames AUTH was tried with
}

// Mail is one mail the sink received.
type Mail struct {
	From string
	To   []string
	TLS  bool // it came over TLS
	Data []byte
}

// NewSession implements smtp.Backend.
func (s *Sink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{sink: s, conn: c}, nil
}

// Received returns the mails received and the user names AUTH was tried
// with.
func (s *Sink) Received() ([]Mail, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails), slices.Clone(s.attempts)
}

type session struct {
	sink   *Sink
	conn   *smtp.Conn
	authed bool
	mail   Mail
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		s.sink.mu.Lock()
		s.sink.attempts = append(s.sink.attempts, user)
		s.sink.mu.Unlock()
		if user != s.sink.User || pass != s.sink.Pass {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	_, tls := s.conn.TLSConnectionState()
	s.mail = Mail{From: from, TLS: tls}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.sink.Refuse[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.mail.To = append(s.mail.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mail.Data = data
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, s.mail)
	s.sink.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.mail = Mail{} }
func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check    func(user, pass string) error
	user     string
	gotFirst bool
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch {
	case response == nil && !l.gotFirst:
		l.gotFirst = true
		return []byte("Username:"), false, nil
	case l.user == "":
		l.user = string(response)
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(response))
}

// Mode is the way a sink's server speaks.
type Mode int

// The modes.
const (
	ClearOnly   Mode = iota // no STARTTLS
	StartTLS                // STARTTLS offered
	ImplicitTLS             // TLS from the first byte
)

// Start starts an SMTP server on 127.0.0.1 with the sink as its
// backend and a certificate made here. It returns the address and the
// pool that trusts the certificate.
func Start(t testing.TB, s *Sink, mode Mode) (string, *x509.CertPool) {
	t.Helper()
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	// The server would take credentials in clear: what refuses them is
	// the client.
	srv.AllowInsecureAuth = true
	cert, leaf := selfSigned(t)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	s.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case StartTLS:
		srv.TLSConfig = tlsConfig
	case ImplicitTLS:
		l = tls.NewListener(l, tlsConfig)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), pool
}

// selfSigned makes a certificate for 127.0.0.1, valid around now (the TLS
// stack checks it against the real clock).
func selfSigned(t testing.TB) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "notify test SMTP server"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}
