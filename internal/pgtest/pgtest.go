// Package pgtest starts a real PostgreSQL server for tests: Debian's
// binaries (initdb, pg_ctl) run a private cluster in a temporary
// directory, listening only on a unix socket there, as an unprivileged
// user (PostgreSQL refuses to run as root: as root the cluster runs as
// nobody). One server serves a test binary; each test gets a database of
// its own. A package using it stops the server at the end with Main.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/internal/testhost"
)

// BinDirEnv names the environment variable that may give the directory of
// PostgreSQL's server binaries; otherwise Debian's are looked for.
const BinDirEnv = "BASELINE_PG_BIN"

// debianBins are where Debian's postgresql packages put the binaries,
// newest first.
var debianBins = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}

// Server is a running test cluster.
type Server struct {
	dir, bin string
	// runAs is the user the cluster runs as ("" for the current one).
	runAs string
	dbs   atomic.Int64
}

var (
	once    sync.Once
	shared  *Server
	failure error
)

// BinDir returns the directory of initdb and pg_ctl.
func BinDir() (string, error) {
	dirs := debianBins
	if d := os.Getenv(BinDirEnv); d != "" {
		dirs = []string{d}
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb) in %v", dirs)
}

// DSN returns the DSN of a new, empty database on the test binary's
// server, starting the server on first use. Without PostgreSQL the test
// fails in CI and skips elsewhere; a unit run skips it.
func DSN(t testing.TB) string {
	t.Helper()
	testhost.Needs(t, "PostgreSQL")
	bin, err := BinDir()
	if err != nil {
		testhost.Missing(t, err.Error(), "apt-get install postgresql, or make test-env")
	}
	once.Do(func() { shared, failure = start(bin) })
	if failure != nil {
		t.Fatalf("test PostgreSQL: %v", failure)
	}
	name := fmt.Sprintf("t%d", shared.dbs.Add(1))
	ctx := context.Background()
	c, err := pgx.Connect(ctx, shared.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return shared.dsn(name)
}

// Main runs a package's tests, then stops the server if one started and
// removes its directory. A package's TestMain calls os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres:///%s?host=%s&user=postgres&sslmode=disable", db, s.dir)
}

// start makes and starts a cluster in a new temporary directory.
func start(bin string) (*Server, error) {
	// As root the cluster's user must reach the directory: under /tmp,
	// whatever TMPDIR says.
	parent := ""
	if os.Geteuid() == 0 {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "baseline-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		if err := s.giveTo("nobody"); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories=%s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", dir)
	if out, err := s.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	return s, nil
}

// giveTo makes the directory the user's, to run the cluster as it.
func (s *Server) giveTo(name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("the cluster cannot run as root and there is no user %s: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(s.dir, uid, gid); err != nil {
		return err
	}
	s.runAs = name
	return nil
}

// run runs a server binary as the cluster's user.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// Stop stops the server (fast shutdown) and removes its directory.
func (s *Server) Stop() {
	if _, err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: stopping the test PostgreSQL:", err)
	}
	if err := os.RemoveAll(s.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
}
