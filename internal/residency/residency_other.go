//go:build !linux

package residency

// ReleaseExecutable does nothing outside Linux.
func ReleaseExecutable() (int, error) { return 0, nil }

// UnmapExecutable does nothing outside Linux.
func UnmapExecutable() (int, error) { return 0, nil }
