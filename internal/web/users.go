package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/argon2"
)

// Role is what a user may do.
type Role string

// The roles.
const (
	// Viewer sees every page and calls the read-only API.
	Viewer Role = "viewer"
	// Admin is a viewer who also enrolls and revokes sensors.
	Admin Role = "admin"
)

// Roles lists the roles a users file may give.
var Roles = []Role{Viewer, Admin}

// ParseRole reads "viewer" or "admin".
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("unknown role %q (want viewer or admin)", s)
	}
	return r, nil
}

// User is one entry of a users file.
type User struct {
	// Name is what the user types to log in.
	Name string `yaml:"name"`
	// Role is viewer or admin.
	Role Role `yaml:"role"`
	// Password is the argon2id hash of the password in the PHC string
	// format ($argon2id$v=19$m=...,t=...,p=...$salt$hash), never the
	// password itself.
	Password string `yaml:"password"`
}

// UserFile is the content of a users file:
//
//	users:
//	  - name: alice
//	    role: admin
//	    password: $argon2id$v=19$m=65536,t=3,p=4$...$...
//
// Passwords are hashed with argon2id (RFC 9106), chosen over bcrypt because
// it is memory-hard (a GPU or ASIC guesses far fewer passwords per second),
// it is the first choice of RFC 9106 and OWASP, and it has no bcrypt-style
// 72-byte limit on the password. Each user has its own random 16-byte salt;
// the parameters are RFC 9106's second recommended set (t=3, 64 MiB,
// p=4), stored in each hash so that they can be raised later without
// breaking existing users.
type UserFile struct {
	Users []User `yaml:"users"`
}

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// ValidUserName reports whether name can be a user's name: 1 to 64
// letters, digits and . _ @ + - (not first).
func ValidUserName(name string) error {
	if !userNameRE.MatchString(name) {
		return fmt.Errorf("user name %q: want 1 to 64 letters, digits, '.', '_', '@', '+' or '-', starting with a letter or digit", name)
	}
	return nil
}

// ParseUserFile decodes and validates a users file. Unknown keys, duplicate
// names, unknown roles and malformed hashes are errors.
func ParseUserFile(data []byte) (*UserFile, error) {
	var f UserFile
	if err := yamlstrict.Decode(data, &f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	seen := map[string]bool{}
	for i, u := range f.Users {
		if err := ValidUserName(u.Name); err != nil {
			return nil, fmt.Errorf("user %d: %w", i+1, err)
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("user %q appears twice", u.Name)
		}
		seen[u.Name] = true
		if _, err := ParseRole(string(u.Role)); err != nil {
			return nil, fmt.Errorf("user %q: %w", u.Name, err)
		}
		if _, err := parseHash(u.Password); err != nil {
			return nil, fmt.Errorf("user %q: password: %w", u.Name, err)
		}
	}
	return &f, nil
}

// LoadUserFile reads a users file. A missing file is an empty one, so that
// "nightjar user add" can create it.
func LoadUserFile(path string) (*UserFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &UserFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	f, err := ParseUserFile(data)
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	return f, nil
}

// Save writes the file atomically (a temporary file in the same
// directory, fsync, rename) with mode 0600: it holds password hashes.
func (f *UserFile) Save(path string) error {
	data, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	data = append([]byte("# Nightjar web users; manage with: nightjar user add|remove|list --users FILE\n"), data...)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".users-*.tmp")
	if err != nil {
		return fmt.Errorf("write users file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write users file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write users file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write users file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write users file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write users file: %w", err)
	}
	return nil
}

// Find returns the user with this name.
func (f *UserFile) Find(name string) (User, bool) {
	for _, u := range f.Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}

// Set adds a user, or replaces the role and password of the user with the
// same name. It reports whether the user existed.
func (f *UserFile) Set(name string, role Role, password []byte) (replaced bool, err error) {
	if err := ValidUserName(name); err != nil {
		return false, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return false, err
	}
	if err := checkPassword(password); err != nil {
		return false, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return false, err
	}
	u := User{Name: name, Role: role, Password: hash}
	for i := range f.Users {
		if f.Users[i].Name == name {
			f.Users[i] = u
			return true, nil
		}
	}
	f.Users = append(f.Users, u)
	return false, nil
}

// Remove deletes a user and reports whether it existed.
func (f *UserFile) Remove(name string) bool {
	n := len(f.Users)
	f.Users = slices.DeleteFunc(f.Users, func(u User) bool { return u.Name == name })
	return len(f.Users) < n
}

// MinPasswordLen is the shortest password Set accepts (NIST SP 800-63B
// asks for at least 8 characters).
const MinPasswordLen = 8

// maxPasswordLen bounds what is hashed, so that a huge form field cannot
// make hashing expensive.
const maxPasswordLen = 1024

func checkPassword(p []byte) error {
	switch n := len([]rune(string(p))); {
	case n < MinPasswordLen:
		return fmt.Errorf("password too short: want at least %d characters", MinPasswordLen)
	case len(p) > maxPasswordLen:
		return fmt.Errorf("password too long: want at most %d bytes", maxPasswordLen)
	}
	return nil
}

// hashParams are argon2id's parameters, as a PHC string stores them.
type hashParams struct {
	time, memory uint32 // iterations, KiB
	threads      uint8
	salt, hash   []byte
}

// defaultHashParams are RFC 9106's second recommended option: t=3, 64 MiB,
// 4 lanes; about 0.1 s on one core of a small server.
var defaultHashParams = hashParams{time: 3, memory: 64 * 1024, threads: 4}

const (
	saltLen = 16
	hashLen = 32
)

// HashPassword hashes a password with argon2id and a new random salt, and
// returns it in the PHC string format.
func HashPassword(password []byte) (string, error) {
	return hashWith(password, defaultHashParams)
}

func hashWith(password []byte, p hashParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey(password, salt, p.time, p.memory, p.threads, hashLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// parseHash reads a PHC argon2id string, bounding its parameters so that
// a hand-edited file cannot make a login take minutes.
func parseHash(s string) (hashParams, error) {
	var p hashParams
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, errors.New("not an argon2id hash ($argon2id$v=19$m=...,t=...,p=...$salt$hash)")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("argon2 version %q: want v=%d", parts[2], argon2.Version)
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, fmt.Errorf("parameter %q: %w", kv, err)
		}
		switch k {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > 255 {
				return p, fmt.Errorf("parameter %q: too many lanes", kv)
			}
			p.threads = uint8(n)
		default:
			return p, fmt.Errorf("unknown parameter %q", kv)
		}
	}
	if p.memory < 8 || p.memory > 1<<20 || p.time < 1 || p.time > 16 || p.threads < 1 || p.threads > 16 {
		return p, fmt.Errorf("parameters %s out of range (m 8..1048576 KiB, t 1..16, p 1..16)", parts[3])
	}
	var err error
	b64 := base64.RawStdEncoding
	if p.salt, err = b64.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return p, errors.New("bad salt")
	}
	if p.hash, err = b64.DecodeString(parts[5]); err != nil || len(p.hash) < 16 {
		return p, errors.New("bad hash")
	}
	return p, nil
}

// VerifyPassword reports whether password matches the PHC hash, in time
// that does not depend on where they differ.
func VerifyPassword(hash string, password []byte) bool {
	p, err := parseHash(hash)
	if err != nil || len(password) > maxPasswordLen {
		return false
	}
	sum := argon2.IDKey(password, p.salt, p.time, p.memory, p.threads, uint32(len(p.hash)))
	return subtle.ConstantTimeCompare(sum, p.hash) == 1
}

// Users is a users file that the server reads and rereads when it changes
// ("nightjar user add" while the server runs takes effect at the next
// request, and removing a user ends their sessions). Its methods are safe
// for concurrent use.
type Users struct {
	path string

	mu        sync.Mutex
	file      *UserFile
	stamp     fileStamp
	nextCheck time.Time
	err       error // of the last reload that failed; the previous content stays in use
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// usersCheckInterval is how often, at most, Users looks at the file.
const usersCheckInterval = time.Second

// OpenUsers reads the users file at path. The file must exist (make it
// with "nightjar user add").
func OpenUsers(path string) (*Users, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w (create it with: nightjar user add --users %s NAME)", err, path)
	}
	f, err := LoadUserFile(path)
	if err != nil {
		return nil, err
	}
	return &Users{path: path, file: f, stamp: fileStamp{st.ModTime(), st.Size()}, nextCheck: time.Now().Add(usersCheckInterval)}, nil
}

// NewUsers serves a fixed list of users, with no file behind it (for
// tests and for programs that keep users elsewhere).
func NewUsers(users ...User) *Users {
	return &Users{file: &UserFile{Users: users}}
}

// Path returns the file's path ("" for NewUsers).
func (u *Users) Path() string { return u.path }

// Err returns why the last reload failed, or nil.
func (u *Users) Err() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// Lookup returns the user with this name, rereading the file first when it
// changed.
func (u *Users) Lookup(name string) (User, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reload()
	return u.file.Find(name)
}

// reload rereads the file if its modification time or size changed.
func (u *Users) reload() {
	if u.path == "" {
		return
	}
	now := time.Now()
	if now.Before(u.nextCheck) {
		return
	}
	u.nextCheck = now.Add(usersCheckInterval)
	st, err := os.Stat(u.path)
	if err != nil {
		u.err = err
		return
	}
	stamp := fileStamp{st.ModTime(), st.Size()}
	if stamp == u.stamp {
		return
	}
	f, err := LoadUserFile(u.path)
	if err != nil {
		u.err = err
		return
	}
	u.file, u.stamp, u.err = f, stamp, nil
}
