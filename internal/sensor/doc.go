// Package sensor is the Nightjar sensor daemon: it captures the packets
// arriving at a darknet's unused addresses (AF_PACKET, or a capture file
// replayed) and runs them through the packet pipeline the rest of Nightjar
// uses (internal/pipeline: decode, keep those addressed to the monitored
// prefixes and not excluded, tag). It closes the records into batches,
// writes each batch to an on-disk spool before it is sent, and sends the
// spool to the collector over mutual TLS, deleting a batch only after the
// collector's acknowledgement. The collector tags the records again with
// its own rules; the sensor's tags serve to compare. It is passive: it
// never sends a packet on the monitored interface. It is pure Go (it must
// build with CGO_ENABLED=0), so it never imports the store.
package sensor

import "path/filepath"

// ExampleConfig is a commented configuration with every key; `nightjar-sensor
// --example-config` prints it.
const ExampleConfig = `# Nightjar sensor configuration.
name: jp-tokyo-1              # the sensor's name, as in its certificate
interface: eth1               # capture interface (AF_PACKET, promiscuous)
sockets: 2                    # capture sockets (fanout), one per core to use
ring:                         # each socket's kernel ring: block_size × blocks of memory
  block_size: 1MiB            # a multiple of the page size, at least the largest frame
  blocks: 64                  # more absorbs longer bursts without kernel drops
# replay:                     # instead of interface: replay a capture file
#   file: capture.pcap
#   realtime: true            # stamp packets with the replay time
#   rate: 10000               # packets per second (0: as fast as possible)
#   loop: 1
monitor:                      # the darknet addresses this sensor watches
  - 198.18.1.0/24
  - 2001:db8:1::/64
exclude:                      # dropped and counted, e.g. management traffic
  - src: 198.18.1.250/32
  - dst: 198.18.1.1/32
    port: 22/TCP
collector:
  address: collector.example.net:7443
  cert: sensor.crt            # written by: nightjar ca enroll
  key: sensor.key
  ca: ca.crt
  window: 8                   # batches in flight before an acknowledgement
spool:
  dir: /var/spool/nightjar
  max_size: 1GiB              # when full, the oldest batches are dropped and counted
  sync: always                # always: fsync each batch before sending it; never: leave it to the OS
batch:
  records: 4096               # at most 65536, the collector's default max_batch_records
  latency: 1s
metrics: 127.0.0.1:9470       # Prometheus endpoint; "off" disables it
heartbeat: 10s
`

func dirOf(path string) string { return filepath.Dir(path) }

func joinIfRelative(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
