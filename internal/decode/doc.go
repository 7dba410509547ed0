// Package decode owns the hot-path packet decoder: it turns one captured
// frame into a record.Record, or into a counted skip Reason, without
// allocating.
//
// Decode handles the link types a telescope sensor meets (Ethernet with any
// depth of 802.1Q/802.1ad tags, PPPoE session and MPLS; Linux cooked
// captures v1 and v2; raw IPv4/IPv6; BSD and OpenBSD loopback), IPv4 with
// options and fragments, IPv6 with its extension headers, and the TCP, UDP,
// ICMP and ICMPv6 headers, including the packet quoted by an ICMP error.
// Anything else is skipped with a Reason whose String is a bounded label for
// counters. Tunnels (GRE, IP-in-IP, Teredo, VXLAN...) are not entered: the
// outermost IP header is the record.
//
// # Aliasing
//
// Decode keeps no reference to the frame and no field of the record aliases
// it: addresses are record.Addr values (two integers and a flag, copied out
// of the frame by record.AddrFrom4 and AddrFrom16, which do not allocate),
// the TCP option layout is packed into an integer, and every other field is
// a number or a bool. The caller may reuse the frame buffer as soon as
// Decode returns, and may keep the record as long as it likes. The record
// itself is overwritten in place (except its Time), so one record can be
// reused for every frame.
//
// # Performance
//
// Decode allocates nothing (a test asserts it, on every test frame and
// every prefix of it) and decodes an Ethernet, IPv4, TCP SYN frame with five
// options about 5.5 times faster than gopacket's DecodingLayerParser (which
// also allocates nothing); see decode_bench_test.go and README.md.
//
// For the differences from tshark's decoding and how the tests measure them,
// see README.md in this directory.
package decode
