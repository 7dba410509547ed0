//go:build unix

package capfile

import (
	"encoding/binary"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// openMapped memory-maps f when it is a non-empty regular file that is not
// compressed. The Reader then owns f. With populate, every page is mapped
// at once (one call, cheaper than a fault per page); without, pages map as
// Range readers populate them.
func openMapped(name string, f *os.File, populate bool) (*Reader, bool) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < 4 || int64(int(st.Size())) != st.Size() {
		return nil, false
	}
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil {
		return nil, false
	}
	if binary.BigEndian.Uint16(magic[:]) == gzipMagic || binary.BigEndian.Uint32(magic[:]) == zstdMagic {
		return nil, false
	}
	flags := unix.MAP_SHARED
	if populate {
		flags |= unix.MAP_POPULATE
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, flags)
	if err != nil {
		return nil, false
	}
	_ = unix.Madvise(m, unix.MADV_SEQUENTIAL)
	return &Reader{
		name:   name,
		buf:    m,
		end:    len(m),
		srcErr: io.EOF,
		total:  st.Size(),
		mapped: m,
		file:   f,
	}, true
}

func unmap(b []byte) error { return unix.Munmap(b) }

// populate maps the pages of b, a page-aligned part of a mapping, where
// the kernel can (Linux 5.14 and later); elsewhere they fault in as read.
func populate(b []byte) { _ = unix.Madvise(b, unix.MADV_POPULATE_READ) }
