//go:build !unix

package capfile

func wakeOpen(string) {}
