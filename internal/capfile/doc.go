// Package capfile reads and writes capture files on the packet hot path.
//
// It owns the file formats: classic pcap (both byte orders, micro- and
// nanosecond magic) and pcapng (Section Header, Interface Description,
// Enhanced, Simple and obsolete Packet Blocks, several interfaces and
// sections; other blocks are skipped), read transparently through gzip or
// zstd compression detected by magic bytes, from a file or standard input
// ("-"). Writing produces classic pcap with nanosecond timestamps,
// optionally compressed by file name (.gz, .zst).
//
// # Aliasing contract
//
// Reader.Next fills a caller-owned Packet without allocating. Packet.Data
// aliases the Reader's buffer (or, for regular uncompressed files, a
// read-only memory mapping of the file): it is valid only until the next
// call to Next or Close, and must not be modified. Copy it to keep it.
//
// # Errors
//
// Next returns io.EOF at a clean end and a *FormatError for a corrupt or
// truncated stream, naming the file and the byte offset, in the
// decompressed stream, where the bad header, record or block starts. The
// packets returned before it are valid. FormatError wraps one of the Err*
// sentinels for errors.Is. Every later call returns the same error.
package capfile
