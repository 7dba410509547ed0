package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/web"
)

// addUser runs "nightjar user add" with the password on standard input.
func addUser(t *testing.T, users, name, role, password string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"user", "add", "--users", users, "--role", role, name}, strings.NewReader(password+"\n"), &out, &errb); code != 0 {
		t.Fatalf("user add %s: exit %d: %s", name, code, errb.String())
	}
}

func TestUserCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	users := filepath.Join(dir, "users.yaml")
	addUser(t, users, "alice", "admin", "alice-password")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("bob-password\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := nightjar(t, "user", "add", "--users", users, "--password-file", pwFile, "bob"); code != 0 || out != "added bob (viewer) in "+users+"\n" {
		t.Fatalf("user add bob: exit %d: %s%s", code, out, errs)
	}
	code, out, _ := nightjar(t, "user", "list", "--users", users)
	if code != 0 {
		t.Fatalf("user list: exit %d", code)
	}
	wantLines(t, "user list", out, "USER   ROLE", "alice  admin", "bob    viewer")
	if st, err := os.Stat(users); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("users file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	data, _ := os.ReadFile(users)
	if strings.Contains(string(data), "alice-password") || !strings.Contains(string(data), "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("users file does not hold argon2id hashes only:\n%s", data)
	}
	f, err := web.LoadUserFile(users)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := f.Find("bob"); !web.VerifyPassword(u.Password, []byte("bob-password")) {
		t.Error("bob's stored hash does not verify his password (line ending kept?)")
	}

	for _, tc := range []struct {
		args []string
		in   string
		want string
	}{
		{[]string{"user", "add", "--users", users, "alice"}, "another-password\n", "exists already"},
		{[]string{"user", "add", "--users", users, "carol"}, "short\n", "too short"},
		{[]string{"user", "add", "--users", users, "carol"}, "", "no password given"},
		{[]string{"user", "add", "--users", users, "--role", "root", "carol"}, "carol-password\n", "unknown role"},
		{[]string{"user", "add", "--users", users, "-carol"}, "carol-password\n", "unknown shorthand"},
		{[]string{"user", "add", "carol"}, "carol-password\n", "--users FILE is required"},
		{[]string{"user", "remove", "--users", users, "nobody"}, "", `no user "nobody"`},
		{[]string{"user", "list", "--users", filepath.Join(dir, "missing.yaml")}, "", "no such file"},
		{[]string{"user", "frobnicate"}, "", "unknown command"},
	} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), tc.args, strings.NewReader(tc.in), &out, &errb); code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want an error with %q", tc.args, code, errb.String(), tc.want)
		}
	}
	var outb, errb bytes.Buffer
	if code := run(t.Context(), []string{"user", "add", "--users", users, "--replace", "--role", "viewer", "alice"}, strings.NewReader("new-alice-password\n"), &outb, &errb); code != 0 ||
		!strings.Contains(outb.String(), "updated alice (viewer)") {
		t.Errorf("user add --replace: exit %d: %s%s", code, outb.String(), errb.String())
	}
	if code, out, _ := nightjar(t, "user", "remove", "--users", users, "bob"); code != 0 || !strings.Contains(out, "removed bob") {
		t.Errorf("user remove: exit %d: %s", code, out)
	}
	_, out, _ = nightjar(t, "user", "list", "--users", users)
	wantLines(t, "user list after changes", out, "USER   ROLE", "alice  viewer")
	if strings.Contains(out, "bob") {
		t.Errorf("user list after removing bob:\n%s", out)
	}
}
