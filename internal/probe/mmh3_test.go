package probe

import (
	"strings"
	"testing"
)

// TestMurmur3 checks the published test vectors of MurmurHash3_x86_32
// (SMHasher's, and mmh3's documentation: mmh3.hash("foo") = -156908512).
func TestMurmur3(t *testing.T) {
	for _, tc := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 0, 0},
		{"", 1, 0x514e28b7},
		{"", 0xffffffff, 0x81f16f39},
		{"\x00\x00\x00\x00", 0, 0x2362f9de},
		{"\xff\xff\xff\xff", 0, 0x76293b50},
		{"\x21\x43\x65\x87", 0, 0xf55b516b},
		{"\x21\x43\x65", 0, 0x7e4a8634},
		{"\x21\x43", 0, 0xa0f7b07a},
		{"\x21", 0, 0x72661cf4},
		{"a", 0x9747b28c, 0x7fa09ea6},
		{"ab", 0x9747b28c, 0x74875592},
		{"abc", 0x9747b28c, 0xc84a62dd},
		{"abcd", 0x9747b28c, 0xf0478627},
		{"aaaa", 0x9747b28c, 0x5a97808a},
		{"Hello, world!", 0x9747b28c, 0x24884cba},
		{"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd},
		{"foo", 0, uint32(0xf6a5c420)}, // int32: -156908512
	} {
		if got := murmur3([]byte(tc.in), tc.seed); got != tc.want {
			t.Errorf("murmur3(%q, %#x) = %#x, want %#x", tc.in, tc.seed, got, tc.want)
		}
	}
	if got := int32(murmur3([]byte("foo"), 0)); got != -156908512 {
		t.Errorf("as mmh3.hash(\"foo\"): %d, want -156908512", got)
	}
}

// TestFaviconMMH3: Shodan hashes the base64 that Python's
// base64.encodebytes writes — 76-character lines, each with its newline.
func TestFaviconMMH3(t *testing.T) {
	for name, tc := range map[string]struct {
		n       int
		encoded string
	}{
		"one short line": {3, "AAAA\n"},
		"one full line":  {57, strings.Repeat("A", 76) + "\n"},
		"two lines":      {58, strings.Repeat("A", 76) + "\nAA==\n"},
	} {
		icon := make([]byte, tc.n)
		if got, want := faviconMMH3(icon), int32(murmur3([]byte(tc.encoded), 0)); got != want {
			t.Errorf("%s: faviconMMH3(%d zero bytes) = %d, want mmh3 of %q: %d", name, tc.n, got, tc.encoded, want)
		}
	}
}
