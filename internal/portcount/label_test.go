package portcount

import (
	"strings"
	"testing"
)

// TestParseLabelRoundTrip: every slot's label parses back to the slot.
func TestParseLabelRoundTrip(t *testing.T) {
	t.Parallel()
	for slot := range uint32(Slots) {
		label := Key(slot).Label()
		got, err := ParseLabel(label)
		if err != nil || got != slot {
			t.Fatalf("ParseLabel(%q) = %d, %v; want %d", label, got, err, slot)
		}
	}
}

func TestParseLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		label string
		want  string // label of the slot, or "error: ..." substring
	}{
		{label: "23/tcp", want: "23/TCP"},
		{label: " 53/Udp ", want: "53/UDP"},
		{label: "icmpv6", want: "ICMPv6"},
		{label: "ip-253", want: "IP-253"},
		{label: "0/TCP", want: "0/TCP"},
		{label: "65536/TCP", want: "error: not a port number"},
		{label: "-1/TCP", want: "error: not a port number"},
		{label: "+1/TCP", want: "error: not a port number"},
		{label: "/TCP", want: "error: not a port number"},
		{label: "23/ICMP", want: "error: only TCP and UDP have ports"},
		{label: "telnet", want: "error: want PORT/TCP"},
		{label: "", want: "error: want PORT/TCP"},
	}
	for _, tt := range tests {
		slot, err := ParseLabel(tt.label)
		if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ParseLabel(%q) error = %v, want one mentioning %q", tt.label, err, want)
			}
			continue
		}
		if err != nil || Key(slot).Label() != tt.want {
			t.Errorf("ParseLabel(%q) = %q, %v; want %q", tt.label, Key(slot).Label(), err, tt.want)
		}
	}
}

// FuzzParseLabel: labels come from the command line; whatever parses is a
// valid slot whose label parses back to it.
func FuzzParseLabel(f *testing.F) {
	for _, s := range []string{"23/TCP", "53/udp", "ICMP", "IP-0", "99999/TCP", "x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		slot, err := ParseLabel(s)
		if err != nil {
			return
		}
		if slot >= Slots {
			t.Fatalf("ParseLabel(%q) = %d, beyond Slots", s, slot)
		}
		if again, err := ParseLabel(Key(slot).Label()); err != nil || again != slot {
			t.Fatalf("ParseLabel(%q) = %d, but its label %q parses to %d, %v", s, slot, Key(slot).Label(), again, err)
		}
	})
}
