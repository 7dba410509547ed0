// Package simulate generates seeded, reproducible darknet traffic for a
// fleet of sensors: the Ethernet frames a telescope would capture (Mirai
// and other scanners, ZMap, Masscan, nmap, unicornscan, ICMP and UDP probes,
// backscatter, spoofed-looking packets, IPv6) in time order, written through
// a PacketWriter such as capfile.Writer, and the ground truth of what was
// written (packets per sensor, port, month, tag and source) for tests,
// benchmarks and demos.
//
// It owns the traffic model (config.go, world.go, traffic.go, ports.go),
// the frame encoder (frame.go) and a copy of the header-only tag rules of
// package fingerprint (rules.go) that keeps the truth's tags exact: every
// packet is redrawn until the rules give it the tags it is meant to carry.
package simulate
