//go:build !unix

package capfile

import "os"

func openMapped(string, *os.File, bool) (*Reader, bool) { return nil, false }

func unmap([]byte) error { return nil }

func populate([]byte) {}
