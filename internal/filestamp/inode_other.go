//go:build !unix

package filestamp

import "os"

// inode is 0 where the platform has none: size and time alone tell.
func inode(os.FileInfo) uint64 { return 0 }
