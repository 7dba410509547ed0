// Package simulate generates seeded, reproducible darknet traffic for a
// fleet of sensors: the Ethernet frames a telescope would capture (Mirai
// and other scanners, ZMap, Masscan, nmap, unicornscan, ICMP and UDP probes,
// backscatter, spoofed-looking packets, IPv6) in time order, written through
// a PacketWriter such as capfile.Writer, and the ground truth of what was
// written (packets per sensor, port, month, tag and source) for tests,
// benchmarks and demos.
//
// It owns the traffic model (config.go, world.go, traffic.go, ports.go),
// the injected events with their ground truth, for measuring alert
// detectors (events.go, inject.go, events_truth.go, and the labelled
// quarter of scenario.go), and the frame encoder (frame.go). The truth's tags come from package
// fingerprint itself, applied to each packet's headers before it is
// encoded (rules.go): every packet is redrawn until the rules give it the
// tags it is meant to carry, and the tests check the result against an
// independent implementation of the rules on the decoded frames.
package simulate
