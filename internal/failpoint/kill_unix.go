//go:build unix

package failpoint

import "syscall"

func kill() { syscall.Kill(syscall.Getpid(), syscall.SIGKILL) } //nolint:errcheck // it does not return
