package record

import (
	"fmt"
	"sync"
	"testing"
)

func TestCountryOf(t *testing.T) {
	for code, want := range map[string]string{"JP": "JP", "us": "US", "": "", "J": "", "JPN": "", "1A": "", "é": ""} {
		if got := CountryOf(code).String(); got != want {
			t.Errorf("CountryOf(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestIntern(t *testing.T) {
	if Intern("") != 0 || Name(0).String() != "" {
		t.Fatal(`"" is not the zero Name`)
	}
	a, b := Intern("censys-scanning"), Intern("AS-CHOOPA")
	if a == 0 || b == 0 || a == b {
		t.Fatalf("Intern gave %d and %d", a, b)
	}
	if Intern("censys-scanning") != a || a.String() != "censys-scanning" || b.String() != "AS-CHOOPA" {
		t.Errorf("names do not round-trip: %d=%q %d=%q", a, a, b, b)
	}
	// Concurrent interning of the same names gives one Name each, readable
	// by every goroutine (the race detector checks the lock-free reads).
	var wg sync.WaitGroup
	got := make([][]Name, 4)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				n := Intern(fmt.Sprintf("org-%d", i))
				if n.String() != fmt.Sprintf("org-%d", i) {
					t.Errorf("Name %d reads %q", n, n)
					return
				}
				got[g] = append(got[g], n)
			}
		}()
	}
	wg.Wait()
	for g := range got[1:] {
		for i, n := range got[g+1] {
			if n != got[0][i] {
				t.Fatalf("goroutines got different Names for org-%d: %d and %d", i, got[0][i], n)
			}
		}
	}
}
