//go:build unix

package filestamp

import (
	"os"
	"syscall"
)

// inode returns the file's inode number: a file renamed over another keeps
// its size and may keep its modification time, never its inode.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
