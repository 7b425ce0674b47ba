//go:build !linux && !darwin

package main

import "io"

// raiseFileLimit does nothing where there is no RLIMIT_NOFILE.
func raiseFileLimit(int, io.Writer) {}
