package residency

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// madvPageout is MADV_PAGEOUT (Linux 5.4): reclaim the range's pages.
// Unlike MADV_DONTNEED it never discards data: a page another process
// maps, or one this process changed, is left as it is (or swapped), so it
// is safe on any mapping.
const madvPageout = 21

// ReleaseExecutable reclaims the resident pages of the read-only mappings
// of this process's executable (its code and read-only data). It returns
// the number of bytes of mappings it advised. Kernels older than 5.4
// refuse the advice: that is not an error worth reporting, the pages just
// stay. The kernel reclaims an executable's pages only for a process that
// could open it for writing (root, or the file's owner): for anyone else
// the advice is accepted and does nothing.
//
// A page the kernel could not reclaim at once (one another process maps,
// one still on its way to the lists reclaim takes from, one not yet
// written back) would stay mapped, and counted in this process's
// resident set, for as long as the process runs: on a fixed-address
// executable those pages are then dropped from this process's mappings,
// as UnmapExecutable does, so what stays resident is what the process
// goes on to use.
func ReleaseExecutable() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	n, err := advise(exe, madvPageout)
	if err != nil || !fixedAddress(exe) {
		return n, err
	}
	return advise(exe, unix.MADV_DONTNEED)
}

// UnmapExecutable drops this process's mappings of the read-only pages of
// its executable, leaving the pages in the kernel's page cache: what the
// process then uses again is mapped back from memory, without reading the
// file, which makes it the cheap release for a start-up that goes on to
// read much of what it released (ReleaseExecutable is the one that gives
// the memory back). Discarding a mapping's pages is safe only where this
// process never changed them: the executable must be a fixed-address one
// (ET_EXEC, as Go links by default), whose read-only segments nothing
// writes, not even relocations. For any other, it reclaims the pages as
// ReleaseExecutable does.
func UnmapExecutable() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	if fixedAddress(exe) {
		return advise(exe, unix.MADV_DONTNEED)
	}
	return advise(exe, madvPageout)
}

// fixedAddress reports whether the ELF file is an executable linked at a
// fixed address (e_type ET_EXEC), not a position-independent one.
func fixedAddress(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	return f.Type == elf.ET_EXEC
}

// advise gives the advice for every read-only mapping of the executable
// exe (this process's).
func advise(exe string, advice int) (int, error) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	released := 0
	for _, m := range executableMappings(maps, exe) {
		size := m.end - m.start
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, size, uintptr(advice)); errno != 0 {
			if errno == unix.EINVAL {
				return released, nil
			}
			return released, fmt.Errorf("residency: madvise: %w", errno)
		}
		released += int(size)
	}
	return released, nil
}

type mapping struct{ start, end uintptr }

// executableMappings returns the read-only mappings of the file exe in a
// /proc/PID/maps listing: lines of "start-end perms offset dev inode path".
func executableMappings(maps []byte, exe string) []mapping {
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 || string(f[5]) != exe || len(f[1]) < 2 || f[1][1] != '-' {
			continue // another file, or a writable mapping (data)
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, mapping{uintptr(start), uintptr(end)})
	}
	return out
}
