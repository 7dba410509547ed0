package simulate

// Port popularity and probe payloads.
//
// The TCP weights follow the top-10 lists of JPCERT/CC's TSUBAME quarterly
// reports 2022-2024 (23, 8728, 22, 80, 6379, 443, 3389, 8080, 8081, 445 in
// varying order) and NICTER Observation Reports (1433, 2222, 5555, 81,
// 8443, 3306, 5900...), with a long tail of less scanned services; generic
// scanners also draw a uniformly random port (tailShare) — the vertical
// scans that give telescopes their 65,535-port long tail.

type weighted struct {
	port   uint16
	weight float64
}

var tcpPorts = []weighted{
	{23, 14}, {8728, 6}, {22, 10}, {80, 8}, {6379, 4}, {443, 6}, {3389, 6},
	{8080, 5}, {8081, 2}, {445, 6}, {1433, 3}, {2222, 2}, {5555, 3}, {81, 2},
	{8443, 2}, {3306, 2}, {5900, 2}, {21, 2}, {25, 2}, {110, 1}, {143, 1},
	{139, 1}, {135, 1}, {993, 1}, {995, 1}, {9200, 1}, {27017, 1}, {5432, 1},
	{2375, 1}, {6443, 1}, {10250, 0.5}, {9000, 1}, {8000, 1}, {8888, 1},
	{7547, 1}, {8291, 1}, {1723, 0.5}, {3128, 0.5}, {111, 0.5}, {502, 0.5},
	{102, 0.3}, {20000, 0.3}, {1080, 0.5}, {60001, 0.5}, {4567, 0.5},
	{9527, 0.3}, {49152, 0.5}, {8090, 0.5}, {88, 0.3}, {5985, 0.5}, {8089, 0.3},
	{37215, 0.5}, {52869, 0.3}, {2323, 1}, {5000, 0.5}, {7001, 0.3}, {9090, 0.5},
}

// tailShare is the share of a vertical scanner's probes to a uniformly
// random port.
const tailShare = 0.15

// zmapTCPPorts are the ports of ZMap TCP scans, one per scan (Censys and
// research scans: web, SSH, telnet, TR-069...).
var zmapTCPPorts = []weighted{{80, 6}, {443, 6}, {22, 3}, {23, 3}, {7547, 2}, {8080, 2}, {21, 1}, {25, 1}, {3389, 1}, {8443, 1}}

// udpPorts are the services UDP probes look for: amplifiers and IoT
// discovery protocols (Shadowserver's scans; CAIDA's UDP telescope studies).
var udpPorts = []weighted{
	{53, 8}, {123, 6}, {161, 5}, {1900, 5}, {5060, 4}, {137, 3}, {11211, 2},
	{389, 2}, {3702, 2}, {500, 2}, {5353, 1}, {47808, 1}, {10001, 1}, {19, 0.5},
	{1194, 0.5},
}

// backscatterPorts are the services of DoS victims whose SYN-ACKs and RSTs
// reach a telescope (Moore et al. 2006: mostly web servers, then others).
var backscatterPorts = []weighted{{80, 10}, {443, 8}, {22, 1}, {25, 1}, {53, 1}, {8080, 1}, {3389, 1}, {6667, 0.5}, {27015, 0.5}}

// udpPayloads are well-formed request payloads, by destination port.
var udpPayloads = map[uint16][]byte{
	// DNS: "version.bind" CH TXT, a resolver fingerprinting query.
	53: []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03"),
	// NTP: a 48-byte version 4 client request (mode 3).
	123: append([]byte{0xe3, 0x00, 0x04, 0xfa}, make([]byte, 44)...),
	// SNMP v2c GetRequest for sysDescr.0, community "public".
	161: []byte("\x30\x29\x02\x01\x01\x04\x06public\xa0\x1c\x02\x04\x1b\xad\xca\xfe\x02\x01\x00\x02\x01\x00\x30\x0e\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x05\x00"),
	// SSDP discovery.
	1900: []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n"),
	// SIP OPTIONS, as sent by SIPVicious-style scanners.
	5060: []byte("OPTIONS sip:100@198.18.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\r\nFrom: <sip:100@1.1.1.1>;tag=1\r\nTo: <sip:100@1.1.1.1>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"),
	// NetBIOS node status (NBSTAT) for "*".
	137: []byte("\x80\xf0\x00\x10\x00\x01\x00\x00\x00\x00\x00\x00\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\x00\x21\x00\x01"),
	// memcached "stats" over UDP.
	11211: []byte("\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n"),
	// CLDAP rootDSE search.
	389: []byte("\x30\x25\x02\x01\x01\x63\x20\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00\x87\x0bobjectclass\x30\x00"),
	// WS-Discovery probe.
	3702: []byte(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"><soap:Body><wsd:Probe/></soap:Body></soap:Envelope>`),
	// IKEv1 header of a Main Mode proposal.
	500: []byte("\x5c\xa1\x1e\x5e\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x10\x02\x00\x00\x00\x00\x00\x00\x00\x00\x1c"),
	// mDNS services enumeration.
	5353: []byte("\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x09_services\x07_dns-sd\x04_udp\x05local\x00\x00\x0c\x00\x01"),
	// BACnet Who-Is / Read Property.
	47808: []byte("\x81\x0a\x00\x11\x01\x04\x00\x05\x01\x0c\x0c\x02\x3f\xff\xff\x19\x4b"),
	// Ubiquiti discovery.
	10001: []byte("\x01\x00\x00\x00"),
	// chargen: any datagram.
	19: []byte("\x01"),
	// OpenVPN P_CONTROL_HARD_RESET_CLIENT_V2.
	1194: []byte("\x38\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x00\x00"),
}

// dnsResponse is the backscatter of a DNS flood: an answer to a query
// forged with our address as its source.
var dnsResponse = []byte("\xbe\xef\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc6\x33\x64\x0a")

// Echo request payloads: Linux ping (timestamp and 0x10.. pattern, 56 bytes)
// and Windows ping (32 bytes of the alphabet).
var (
	pingLinux = func() []byte {
		b := make([]byte, 56)
		for i := 8; i < 56; i++ {
			b[i] = byte(i + 8)
		}
		return b
	}()
	pingWindows = []byte("abcdefghijklmnopqrstuvwabcdefghi")
	// fragmentPayload is the tail of a fragmented datagram.
	fragmentPayload = []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
)

// table is an alias sampler over a port list.
type table struct {
	ports []uint16
	pick  alias
}

func newTable(ws []weighted) *table {
	t := &table{ports: make([]uint16, len(ws))}
	w := make([]float64, len(ws))
	for i, x := range ws {
		t.ports[i], w[i] = x.port, x.weight
	}
	t.pick = newAlias(w)
	return t
}

func (t *table) draw(r *rng) uint16 { return t.ports[t.pick.pick(r)] }

// randomPort returns a uniform port in [1, 65535].
func randomPort(r *rng) uint16 { return uint16(1 + r.intn(65535)) }

// ephemeral returns a source port in [1024, 65535].
func ephemeral(r *rng) uint16 { return uint16(1024 + r.intn(65536-1024)) }
