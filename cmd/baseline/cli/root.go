// Package cli is the command line of baseline: cobra commands that parse
// flags and call the library packages. It returns exit codes; only main exits.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/internal/residency"
	"github.com/baselinehq/baseline/store/backend"
)

// Exit codes, documented in the README.
const (
	ExitOK       = 0 // success; for scan: no scored item failed (or --exit-code not given)
	ExitError    = 1 // the command could not run (bad flags, unreadable store, ...)
	ExitFindings = 2 // scan --exit-code: at least one scored item failed
	ExitInvalid  = 3 // a benchmark definition failed to load
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// globals are the options every command shares.
type globals struct {
	benchmarkDirs []string
	hostRoot      string
	dataDir       string
	// store names the store's backend: a PostgreSQL URL, or empty for the
	// SQLite store in dataDir.
	store    string
	config   string
	logLevel string
	// server, secretID and secretKey address a remote daemon instead of
	// the local store.
	server    string
	secretID  string
	secretKey string
	// kube reaches the Kubernetes cluster; nodeName names this host in it.
	kube     kube.Options
	nodeName string
	// signingKey is the file of the key that signs exports (default: the
	// data directory's signing.key).
	signingKey string
	profiles   profiles
	stdout     io.Writer
	stderr     io.Writer
}

// Run executes the command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if perr := g.profiles.stop(); perr != nil && err == nil {
		err = perr
	}
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.code != ExitFindings {
			fmt.Fprintln(stderr, "baseline:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "baseline:", err)
	return ExitError
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "baseline",
		Short:         "CIS baseline compliance checker for Docker hosts, containers, images and Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// Every linked package has run its initialisation, which left
			// most of the executable resident; drop those pages before the
			// command runs (what it uses comes back on demand, from the
			// page cache). Best effort: a refusal only leaves them mapped.
			_, _ = residency.UnmapExecutable()
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: lvl})))
			if err := applyConfigFile(cmd, g); err != nil {
				return err
			}
			if err := applyStoreEnv(cmd, g); err != nil {
				return err
			}
			return g.profiles.start()
		},
	}
	pf := root.PersistentFlags()
	pf.StringArrayVar(&g.benchmarkDirs, "benchmarks", nil, "directory of extra benchmark standards (repeatable)")
	pf.StringVar(&g.config, "config", envOr("BASELINE_CONFIG", ""), "configuration file (YAML; default /etc/baseline/config.yaml when present; env BASELINE_CONFIG)")
	pf.StringVar(&g.hostRoot, "host-root", envOr("BASELINE_HOST_ROOT", "/"), "root of the host file system to check (env BASELINE_HOST_ROOT)")
	pf.StringVar(&g.dataDir, "data-dir", envOr("BASELINE_DATA_DIR", defaultDataDir()), "directory of the embedded store (env BASELINE_DATA_DIR)")
	// No default from the environment: --help would show its password.
	pf.StringVar(&g.store, "store", "", "the store: a PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DB), or empty for the embedded SQLite store in --data-dir (env BASELINE_STORE, which keeps the password out of the process list)")
	pf.StringVar(&g.server, "server", envOr("BASELINE_SERVER", ""), "query and drive a remote daemon at this address, and upload scans to it (http(s)://host:port; env BASELINE_SERVER)")
	pf.StringVar(&g.secretID, "secret-id", envOr("BASELINE_SECRET_ID", ""), "API key id for --server (env BASELINE_SECRET_ID)")
	pf.StringVar(&g.secretKey, "secret-key", envOr("BASELINE_SECRET_KEY", ""), "API secret key for --server (env BASELINE_SECRET_KEY)")
	pf.StringVar(&g.kube.Kubeconfig, "kubeconfig", envOr("BASELINE_KUBECONFIG", ""), "kubeconfig of the cluster to check (default: KUBECONFIG, the pod's service account, ~/.kube/config; env BASELINE_KUBECONFIG)")
	pf.StringVar(&g.kube.Context, "kube-context", envOr("BASELINE_KUBE_CONTEXT", ""), "kubeconfig context (default: the current one; env BASELINE_KUBE_CONTEXT)")
	pf.StringVar(&g.kube.Name, "cluster-name", envOr("BASELINE_CLUSTER_NAME", ""), "the cluster's name in reports (default: the kubeconfig's cluster name; env BASELINE_CLUSTER_NAME)")
	pf.StringVar(&g.nodeName, "node-name", envOr("BASELINE_NODE_NAME", ""), "this host's Kubernetes node name (default: NODE_NAME, then the host name; env BASELINE_NODE_NAME)")
	pf.StringVar(&g.signingKey, "signing-key", envOr("BASELINE_SIGNING_KEY", ""), "Ed25519 key (PEM PKCS#8) that signs exports (default: DATA_DIR/signing.key, generated on first use; env BASELINE_SIGNING_KEY)")
	pf.StringVar(&g.logLevel, "log-level", envOr("BASELINE_LOG_LEVEL", "warn"), "log level: debug, info, warn, error")
	// For performance work (CONTRIBUTING.md), not in the usage text.
	pf.StringVar(&g.profiles.cpu, "cpu-profile", "", "write a CPU profile of the command to this file (pprof format)")
	pf.StringVar(&g.profiles.heap, "heap-profile", "", "write the command's allocations to this file at its end (pprof format)")
	_ = pf.MarkHidden("cpu-profile")
	_ = pf.MarkHidden("heap-profile")
	root.AddCommand(newBenchmarksCmd(g), newScanCmd(g), newRecheckCmd(g), newSummaryCmd(g), newAssetsCmd(g), newAssetCmd(g),
		newItemsCmd(g), newItemCmd(g), newFailedCmd(g), newIgnoreCmd(g), newTasksCmd(g), newDiffCmd(g), newPruneCmd(g),
		newServeCmd(g), newScheduleCmd(g), newReportCmd(g))
	return root
}

// applyConfigFile lets the configuration file set the data directory, the
// host root and the cluster of every command (and scan's kube_bench.strict),
// below the environment and the flags.
func applyConfigFile(cmd *cobra.Command, g *globals) error {
	file := g.config
	if file == "" {
		for _, f := range DefaultConfigFiles {
			if _, err := os.Stat(f); err == nil {
				file = f
				break
			}
		}
	}
	if file == "" {
		return nil
	}
	v := viper.New()
	v.SetConfigFile(file)
	if err := v.ReadInConfig(); err != nil {
		return fmt.Errorf("--config %s: %w", file, err)
	}
	set := func(flag, env, key string, dst *string) {
		if cmd.Flags().Changed(flag) || os.Getenv(env) != "" || !v.IsSet(key) {
			return
		}
		*dst = v.GetString(key)
	}
	set("data-dir", "BASELINE_DATA_DIR", "data_dir", &g.dataDir)
	set("store", storeEnv, "store", &g.store)
	set("host-root", "BASELINE_HOST_ROOT", "host_root", &g.hostRoot)
	set("kubeconfig", "BASELINE_KUBECONFIG", "kubernetes.kubeconfig", &g.kube.Kubeconfig)
	set("kube-context", "BASELINE_KUBE_CONTEXT", "kubernetes.context", &g.kube.Context)
	set("cluster-name", "BASELINE_CLUSTER_NAME", "kubernetes.cluster_name", &g.kube.Name)
	set("node-name", "BASELINE_NODE_NAME", "kubernetes.node_name", &g.nodeName)
	set("signing-key", "BASELINE_SIGNING_KEY", "signing_key", &g.signingKey)
	// scan --kube-bench-strict, below its environment variable (read by
	// the command).
	if f := cmd.Flags().Lookup(kubeBenchStrictFlag); f != nil && !f.Changed && os.Getenv(kubeBenchStrictEnv) == "" && v.IsSet("kube_bench.strict") {
		if err := f.Value.Set(v.GetString("kube_bench.strict")); err != nil {
			return fmt.Errorf("--config %s: kube_bench.strict: %w", file, err)
		}
	}
	return nil
}

// storeEnv names the environment variable of --store.
const storeEnv = "BASELINE_STORE"

// applyStoreEnv takes the store from the environment unless the flag
// gives it, and checks the setting.
func applyStoreEnv(cmd *cobra.Command, g *globals) error {
	if env := os.Getenv(storeEnv); env != "" && !cmd.Flags().Changed("store") {
		g.store = env
	}
	if err := backend.Check(g.store); err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	return nil
}

// defaultDataDir follows the platform's conventions: /var/lib/baseline for
// root, $XDG_DATA_HOME/baseline (or ~/.local/share/baseline) for a user.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/baseline"
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "baseline")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "baseline")
	}
	return ".baseline"
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
