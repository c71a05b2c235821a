//go:build race

package e2e

// raceEnabled: the test binary has the race detector.
const raceEnabled = true
