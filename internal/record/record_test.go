package record

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSignature(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		kinds []uint8
		want  string
	}{
		{name: "none", want: ""},
		{name: "nmap", kinds: []uint8{OptMSS}, want: "mss"},
		{name: "linux", kinds: []uint8{OptMSS, OptSACKOK, OptTimestamp, OptNOP, OptWScale}, want: "mss,sok,ts,nop,ws"},
		{name: "unknown kinds", kinds: []uint8{OptSACK, 30, OptEOL}, want: "sack,o30,eol"},
		{name: "more than fits", kinds: []uint8{1, 1, 1, 1, 1, 1, 1, 1, 2}, want: "nop,nop,nop,nop,nop,nop,nop,nop,..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var o TCPOptions
			for _, k := range tt.kinds {
				o.AddKind(k)
			}
			if got := o.Signature(); got != tt.want {
				t.Errorf("Signature() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rec  Record
		want string
	}{
		{Record{Protocol: ProtoTCP, HasTransport: true, DstPort: 23}, "23/TCP"},
		{Record{Protocol: ProtoUDP, HasTransport: true, DstPort: 53}, "53/UDP"},
		{Record{Protocol: ProtoICMP, HasTransport: true, SrcPort: 8}, "ICMP"},
		{Record{Protocol: ProtoICMPv6, HasTransport: true}, "ICMPv6"},
		{Record{Protocol: ProtoUDP, Fragment: true, FragOffset: 1480}, "UDP"},
		{Record{Protocol: 47}, "GRE"},
		{Record{Protocol: 253}, "IP-253"},
	}
	for _, tt := range tests {
		if got := tt.rec.PortLabel(); got != tt.want {
			t.Errorf("PortLabel(%+v) = %q, want %q", tt.rec, got, tt.want)
		}
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	tags := TagSpoofed | TagMirai | TagBackscatter
	if diff := cmp.Diff(tags.Names(), []string{"mirai", "backscatter", "spoofed"}); diff != "" {
		t.Errorf("Names() (-got, +want):\n%s", diff)
	}
	if got := tags.String(); got != "mirai,backscatter,spoofed" {
		t.Errorf("String() = %q", got)
	}
	for i, tag := range AllTags() {
		if tag.Index() != i {
			t.Errorf("%v.Index() = %d, want %d", tag, tag.Index(), i)
		}
		back, err := ParseTag(tag.String())
		if err != nil || back != tag {
			t.Errorf("ParseTag(%q) = %v, %v", tag.String(), back, err)
		}
	}
	if _, err := ParseTag("conficker"); err == nil {
		t.Error("ParseTag(conficker) succeeded, want an error listing the known tags")
	}
	if Tags(0).Names() != nil || !tags.Has(TagMirai|TagSpoofed) || tags.Has(TagZMap) {
		t.Error("Names/Has on edge cases")
	}
}
