// Package residency gives the kernel back the pages of this program's own
// executable that it mapped while starting.
//
// Linux maps an executable's pages on first use, and maps them by 64 KB
// windows ("fault-around") rather than one page at a time. Go runs every
// linked package's initialisation at start-up, so a program that links a
// few hundred packages touches a window in nearly every package: the
// baseline binary has about 28 MB of its 40 MB resident before a command
// does anything, though a command uses far less of it. ReleaseExecutable
// asks the kernel to reclaim those pages; the ones the program uses later
// come back on demand.
package residency
