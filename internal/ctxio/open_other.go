//go:build !unix

package ctxio

func wakeOpen(string) {}
