package web

import "testing"

// FuzzParseUserFile: a users file, hand-edited or damaged, yields a users
// list or an error, never a panic; every hash it accepts has bounded
// parameters.
func FuzzParseUserFile(f *testing.F) {
	f.Add([]byte("users:\n  - name: alice\n    role: admin\n    password: $argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n"))
	f.Add([]byte("users: []\n"))
	f.Add([]byte(""))
	f.Add([]byte("users:\n  - {name: a, role: viewer, password: '$argon2id$v=19$m=1048577,t=1,p=1$c2FsdHNhbHQ$aGFzaA'}\n"))
	f.Add([]byte("$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdA$aGFzaA"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if uf, err := ParseUserFile(data); err == nil {
			for _, u := range uf.Users {
				p, err := parseHash(u.Password)
				if err != nil || p.memory > 1<<20 || p.time > 16 || p.threads > 16 {
					t.Fatalf("accepted user %q with hash %q (%+v, %v)", u.Name, u.Password, p, err)
				}
			}
		}
		if p, err := parseHash(string(data)); err == nil && (p.memory > 1<<20 || p.time > 16 || p.threads > 16 || len(p.salt) < 8) {
			t.Fatalf("parseHash(%q) accepted %+v", data, p)
		}
	})
}
