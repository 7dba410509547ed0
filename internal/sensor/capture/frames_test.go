package capture

import "encoding/binary"

// synFrame returns frame i of a test stream: an Ethernet frame to dst (a
// locally administered MAC when nil) holding a TCP SYN from 198.18.0.2 to
// 198.19.x.y (the telescope prefix of testenv.Link), port 1-1000. Frames
// differ from each other; their flows differ too, so fanout spreads them.
//
//	0x0000:  0200 0000 0001 0200 0000 0002 0800 4500  ..............E.
//	0x0010:  0028 ....
func synFrame(i int, dst []byte) []byte {
	f := make([]byte, 14+20+20)
	if dst == nil {
		dst = []byte{0x02, 0, 0, 0, 0, 0x01}
	}
	copy(f[0:6], dst)
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 0x02})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6 // version, IHL; TTL; TCP
	binary.BigEndian.PutUint16(ip[2:], 40)
	binary.BigEndian.PutUint16(ip[4:], uint16(i))
	copy(ip[12:16], []byte{198, 18, 0, 2})
	copy(ip[16:20], []byte{198, 19, byte(i >> 8), byte(i)})
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	tcp := f[34:54]
	binary.BigEndian.PutUint16(tcp[0:], uint16(40000+i%20000))
	binary.BigEndian.PutUint16(tcp[2:], uint16(1+i%1000))
	binary.BigEndian.PutUint32(tcp[4:], uint32(i))
	tcp[12], tcp[13] = 5<<4, 0x02 // data offset; SYN
	binary.BigEndian.PutUint16(tcp[14:], 1024)
	return f
}

// checksum is the Internet checksum of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
