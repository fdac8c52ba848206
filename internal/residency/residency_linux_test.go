package residency

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// rssFile reads this process's resident file-backed pages, in kB.
func rssFile(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

func TestReleaseExecutableReclaimsItsPages(t *testing.T) { testReleases(t, ReleaseExecutable) }

// holdEnv makes the test binary, run again by the next test, the process
// that maps the executable's pages beside the test's (TestMain).
const holdEnv = "BASELINE_RESIDENCY_HOLD"

// TestMain, in the process holdEnv names, maps every read-only page of
// the executable and holds them until its input ends, instead of running
// the tests.
func TestMain(m *testing.M) {
	if os.Getenv(holdEnv) == "1" {
		if err := touchPages(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("ready\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The kernel reclaims no page that another process maps too (two
// instances of the same executable share them); those pages would stay
// in this process's resident set. ReleaseExecutable drops its mappings of
// them all the same.
func TestReleaseExecutableDropsPagesAnotherProcessMaps(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	hold := exec.Command(exe)
	hold.Env = append(os.Environ(), holdEnv+"=1")
	in, err := hold.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := hold.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		in.Close()
		_ = hold.Wait()
	}()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("the holding process did not map the executable: %q, %v", line, err)
	}
	testReleases(t, ReleaseExecutable)
}

// The test binary is a fixed-address executable (go test links it as Go
// links any program), so this drops its mappings.
func TestUnmapExecutableDropsItsMappings(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !fixedAddress(exe) {
		t.Fatalf("%s is not a fixed-address executable", exe)
	}
	testReleases(t, UnmapExecutable)
}

// touchExecutable reads a byte of every page of the executable's read-only
// mappings, so that all of them are resident whatever ran before.
func touchExecutable(t *testing.T) {
	t.Helper()
	if err := touchPages(); err != nil {
		t.Fatal(err)
	}
}

// touchPages is touchExecutable's reading, through /proc/self/mem, which
// maps the pages in as a read of the memory would.
func touchPages() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return err
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return err
	}
	defer mem.Close()
	var b [1]byte
	for _, m := range executableMappings(maps, exe) {
		for p := m.start; p < m.end; p += 4096 {
			if _, err := mem.ReadAt(b[:], int64(p)); err != nil {
				return err
			}
		}
	}
	return nil
}

func testReleases(t *testing.T, release func() (int, error)) {
	touchExecutable(t)
	before := rssFile(t)
	n, err := release()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no read-only mapping of the executable was found in /proc/self/maps")
	}
	after := rssFile(t)
	t.Logf("resident file pages: %d kB before, %d kB after; %d kB of mappings advised", before, after, n/1024)
	// The test binary links the testing package and its dependencies: a
	// few MB resident; what remains is what this function and the
	// kernel's reading of /proc touch again.
	if after > before*3/4 {
		t.Errorf("resident file pages went from %d kB to %d kB: not reclaimed", before, after)
	}
}

func TestExecutableMappingsSkipsWritableAndOtherFiles(t *testing.T) {
	maps := []byte(`00400000-014ec000 r-xp 00000000 fe:00 99 /usr/bin/baseline
014ec000-0282b000 r--p 010ec000 fe:00 99 /usr/bin/baseline
0282b000-029d0000 rw-p 0242b000 fe:00 99 /usr/bin/baseline
029d0000-02a00000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--p 00000000 fe:00 12 /usr/lib/libc.so.6
7f0000002000-7f0000003000 r-xp 00000000 fe:00 13 /usr/bin/baseline-other
garbage line
`)
	got := executableMappings(maps, "/usr/bin/baseline")
	want := []mapping{{0x400000, 0x14ec000}, {0x14ec000, 0x282b000}}
	if len(got) != len(want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: got %x, want %x", i, got[i], want[i])
		}
	}
}
