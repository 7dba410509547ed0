// Package e2e holds the end-to-end tests of the sensor, the collector and
// the CLI as users run them: real binaries, a scanner and a telescope
// network namespace joined by veth, captures replayed with tcpreplay, real
// scanners (zmap, masscan, nmap, hping3), and the database read back with
// `nightjar query`. They need root, iproute2 and tcpreplay; without them
// they skip, except under NIGHTJAR_REQUIRE_INTEGRATION=1 (CI), where they
// fail.
package e2e
