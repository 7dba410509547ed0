package decode

import "strconv"

// LinkType is a LINKTYPE_ value (tcpdump.org/linktypes.html) as found in
// pcap and pcapng headers.
type LinkType uint32

// The link types Decode supports.
const (
	LinkNull      LinkType = 0   // BSD loopback, address family in host byte order (either endianness accepted)
	LinkEthernet  LinkType = 1   // Ethernet II / 802.3, with 802.1Q/802.1ad tags, PPPoE session, MPLS
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6, told apart by the version nibble
	LinkLoop      LinkType = 108 // OpenBSD loopback, address family in network byte order
	LinkLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2

	// DLT_RAW as some platforms write it in pcap files instead of
	// LINKTYPE_RAW: 12 on most, 14 on OpenBSD. Decode treats both as LinkRaw.
	linkRaw12 LinkType = 12
	linkRaw14 LinkType = 14
)

// Supported reports whether Decode decodes frames of link type l (otherwise
// every frame yields UnsupportedLinkType).
func (l LinkType) Supported() bool {
	switch l {
	case LinkNull, LinkEthernet, LinkRaw, linkRaw12, linkRaw14, LinkLoop,
		LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2:
		return true
	}
	return false
}

// String names the link type after its LINKTYPE_ name and always shows the
// number: "ETHERNET (1)", "IEEE802_11_RADIOTAP (127)", "unknown (4242)".
// It allocates; call it when reporting, not per packet.
func (l LinkType) String() string {
	return l.name() + " (" + strconv.FormatUint(uint64(l), 10) + ")"
}

func (l LinkType) name() string {
	switch l {
	case 0:
		return "NULL"
	case 1:
		return "ETHERNET"
	case 3:
		return "AX25"
	case 6:
		return "IEEE802_5"
	case 7:
		return "ARCNET_BSD"
	case 8:
		return "SLIP"
	case 9:
		return "PPP"
	case 10:
		return "FDDI"
	case 12, 14:
		return "RAW"
	case 50:
		return "PPP_HDLC"
	case 51:
		return "PPP_ETHER"
	case 100:
		return "ATM_RFC1483"
	case 101:
		return "RAW"
	case 104:
		return "C_HDLC"
	case 105:
		return "IEEE802_11"
	case 107:
		return "FRELAY"
	case 108:
		return "LOOP"
	case 113:
		return "LINUX_SLL"
	case 114:
		return "LTALK"
	case 117:
		return "PFLOG"
	case 119:
		return "IEEE802_11_PRISM"
	case 122:
		return "IP_OVER_FC"
	case 123:
		return "SUNATM"
	case 127:
		return "IEEE802_11_RADIOTAP"
	case 129:
		return "ARCNET_LINUX"
	case 138:
		return "APPLE_IP_OVER_IEEE1394"
	case 139:
		return "MTP2_WITH_PHDR"
	case 140:
		return "MTP2"
	case 141:
		return "MTP3"
	case 142:
		return "SCCP"
	case 143:
		return "DOCSIS"
	case 144:
		return "LINUX_IRDA"
	case 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162:
		return "USER" + strconv.Itoa(int(l)-147)
	case 163:
		return "IEEE802_11_AVS"
	case 166:
		return "PPP_PPPD"
	case 169:
		return "GPRS_LLC"
	case 177:
		return "LINUX_LAPD"
	case 187:
		return "BLUETOOTH_HCI_H4"
	case 189:
		return "USB_LINUX"
	case 192:
		return "PPI"
	case 195:
		return "IEEE802_15_4_WITHFCS"
	case 197:
		return "ERF"
	case 201:
		return "BLUETOOTH_HCI_H4_WITH_PHDR"
	case 204:
		return "PPP_WITH_DIR"
	case 220:
		return "USB_LINUX_MMAPPED"
	case 226:
		return "IPNET"
	case 227:
		return "CAN_SOCKETCAN"
	case 228:
		return "IPV4"
	case 229:
		return "IPV6"
	case 230:
		return "IEEE802_15_4_NOFCS"
	case 231:
		return "DBUS"
	case 239:
		return "NFLOG"
	case 242:
		return "IPOIB"
	case 249:
		return "USBPCAP"
	case 251:
		return "BLUETOOTH_LE_LL"
	case 253:
		return "NETLINK"
	case 254:
		return "BLUETOOTH_LINUX_MONITOR"
	case 258:
		return "PKTAP"
	case 271:
		return "VSOCK"
	case 276:
		return "LINUX_SLL2"
	}
	return "unknown"
}
