//go:build race

package server

// raceEnabled: built with -race, whose sync.Pool drops items at random
// (so that code relying on them being kept fails), which makes counting
// allocations meaningless.
const raceEnabled = true
