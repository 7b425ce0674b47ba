//go:build linux || darwin

package main

import (
	"fmt"
	"io"
	"syscall"
)

// raiseFileLimit lifts the soft RLIMIT_NOFILE to at least need (within the
// hard limit), since every user holds a socket. Go raises the soft limit
// to the hard one at start on most systems already; this makes sure, and
// says so when even the hard limit is too low.
func raiseFileLimit(need int, warn io.Writer) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if lim.Cur >= uint64(need) {
		return
	}
	want := lim
	want.Cur = uint64(need)
	if want.Max < want.Cur {
		want.Max = want.Cur // only allowed with CAP_SYS_RESOURCE
	}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return
	}
	want.Cur, want.Max = lim.Max, lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
	fmt.Fprintf(warn, "chatbench: warning: open-file limit is %d, %d users need about %d (raise ulimit -n)\n", lim.Max, need-64, need)
}
