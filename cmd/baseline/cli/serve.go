package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/baselinehq/baseline/api"
	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/api/upstream"
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/assets/kube"
	"github.com/baselinehq/baseline/console"
	"github.com/baselinehq/baseline/internal/residency"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/scan"
	"github.com/baselinehq/baseline/schedule"
	"github.com/baselinehq/baseline/server"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/backend"
)

// serveConfig is the daemon's configuration: a config file, BASELINE_*
// environment variables and flags, in rising precedence.
type serveConfig struct {
	DataDir string `mapstructure:"data_dir"`
	// Store is a PostgreSQL URL, or empty for the SQLite store in DataDir.
	Store      string `mapstructure:"store"`
	HostRoot   string `mapstructure:"host_root"`
	DockerHost string `mapstructure:"docker_host"`
	// CRIEndpoint is the node's container runtime's CRI socket (default:
	// the kubelet's, then the usual sockets).
	CRIEndpoint string `mapstructure:"cri_endpoint"`
	// SigningKey signs exports (default: DataDir's signing.key).
	SigningKey string `mapstructure:"signing_key"`
	Kubernetes struct {
		Kubeconfig  string `mapstructure:"kubeconfig"`
		Context     string `mapstructure:"context"`
		ClusterName string `mapstructure:"cluster_name"`
		NodeName    string `mapstructure:"node_name"`
		// ExpectNode: this host is a node; finding no component is a
		// scan failure (the DaemonSet).
		ExpectNode bool `mapstructure:"expect_node"`
		// Disabled skips the cluster's API (node checks still run).
		Disabled bool `mapstructure:"disabled"`
	} `mapstructure:"kubernetes"`
	LogLevel  string `mapstructure:"log_level"`
	LogFormat string `mapstructure:"log_format"`
	KeepTasks int    `mapstructure:"keep_tasks"`
	Timezone  string `mapstructure:"timezone"`
	// ShutdownGrace is how long a running task may go on after SIGTERM
	// before it is interrupted (and recorded as failed).
	ShutdownGrace time.Duration `mapstructure:"shutdown_grace"`
	API           struct {
		Listen       string `mapstructure:"listen"`
		TLSCert      string `mapstructure:"tls_cert"`
		TLSKey       string `mapstructure:"tls_key"`
		MaxBodyBytes int64  `mapstructure:"max_body_bytes"`
		// MaxUploadBytes bounds an UploadComplianceScanResult's body.
		MaxUploadBytes int64   `mapstructure:"max_upload_bytes"`
		RatePerSecond  float64 `mapstructure:"rate_per_second"`
		Burst          int     `mapstructure:"burst"`
		// AuthFailuresPerSecond and AuthFailureBurst limit each client
		// address's failed authentications.
		AuthFailuresPerSecond float64 `mapstructure:"auth_failures_per_second"`
		AuthFailureBurst      int     `mapstructure:"auth_failure_burst"`
		// RequireSignedAction refuses requests that do not sign
		// X-TC-Action.
		RequireSignedAction bool `mapstructure:"require_signed_action"`
		// MaxSpooledBodies bounds the long bodies received at once before
		// their signature is checked.
		MaxSpooledBodies int          `mapstructure:"max_spooled_bodies"`
		Keys             []server.Key `mapstructure:"keys"`
	} `mapstructure:"api"`
	// Metrics configure /metrics: served without an API key when Public;
	// failed asset counts for the TopItems items failing on most assets.
	Metrics struct {
		Public   bool `mapstructure:"public"`
		TopItems int  `mapstructure:"top_items"`
	} `mapstructure:"metrics"`
	// Console.Listen, when set, is another address serving the console
	// (and the export downloads it links to); the console is on the API's
	// address either way.
	Console struct {
		Listen string `mapstructure:"listen"`
	} `mapstructure:"console"`
	// Upstream, when Server is set, is the daemon each completed task is
	// also uploaded to (see package server/upstream).
	Upstream struct {
		Server    string `mapstructure:"server"`
		SecretID  string `mapstructure:"secret_id"`
		SecretKey string `mapstructure:"secret_key"`
		// Backoff is the wait after a failed upload, doubled after each
		// next failure up to MaxBackoff.
		Backoff    time.Duration `mapstructure:"backoff"`
		MaxBackoff time.Duration `mapstructure:"max_backoff"`
		// OutboxSize bounds the tasks waiting for upload in the store.
		OutboxSize int `mapstructure:"outbox_size"`
	} `mapstructure:"upstream"`
}

// maxMetricsTopItems bounds metrics.top_items, and so the label sets of
// baseline_item_failed_assets.
const maxMetricsTopItems = 1000

// DefaultConfigFiles are read, when present, unless --config names one.
var DefaultConfigFiles = []string{"/etc/baseline/config.yaml"}

// loadServeConfig reads the configuration; cmd's flags override the file
// and the environment.
func loadServeConfig(cmd *cobra.Command, g *globals, file string) (*serveConfig, error) {
	v := viper.New()
	v.SetEnvPrefix("BASELINE")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	v.SetDefault("data_dir", defaultDataDir())
	v.SetDefault("store", "")
	v.SetDefault("host_root", "/")
	v.SetDefault("log_level", "info")
	v.SetDefault("log_format", "json")
	v.SetDefault("keep_tasks", 100)
	v.SetDefault("timezone", "Local")
	v.SetDefault("shutdown_grace", "60s")
	setAPIDefaults(v)
	v.SetDefault("metrics.public", false)
	v.SetDefault("metrics.top_items", server.DefaultMetricsTopItems)
	v.SetDefault("upstream.backoff", upstream.DefaultBackoff)
	v.SetDefault("upstream.max_backoff", upstream.DefaultMaxBackoff)
	v.SetDefault("upstream.outbox_size", upstream.DefaultOutboxSize)
	for _, k := range []string{"api.tls_cert", "api.tls_key", "docker_host", "cri_endpoint", "kubernetes.kubeconfig", "kubernetes.context",
		"kubernetes.cluster_name", "kubernetes.node_name", "upstream.server", "upstream.secret_id", "upstream.secret_key", "signing_key", "console.listen"} {
		v.SetDefault(k, "")
	}
	switch {
	case file != "":
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("--config %s: %w", file, err)
		}
	default:
		for _, f := range DefaultConfigFiles {
			if _, err := os.Stat(f); err == nil {
				v.SetConfigFile(f)
				if err := v.ReadInConfig(); err != nil {
					return nil, fmt.Errorf("config %s: %w", f, err)
				}
				break
			}
		}
	}
	flags := map[string]string{"data-dir": "data_dir", "store": "store", "host-root": "host_root", "log-level": "log_level", "listen": "api.listen",
		"docker-host": "docker_host", "cri-endpoint": "cri_endpoint", "timezone": "timezone", "keep-tasks": "keep_tasks",
		"kubeconfig": "kubernetes.kubeconfig", "kube-context": "kubernetes.context", "cluster-name": "kubernetes.cluster_name", "node-name": "kubernetes.node_name",
		"signing-key": "signing_key"}
	for flag, key := range flags {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
			v.Set(key, f.Value.String())
		}
	}
	v.SetDefault("kubernetes.disabled", false)
	v.SetDefault("kubernetes.expect_node", false)
	var c serveConfig
	if err := v.Unmarshal(&c); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	// The global BASELINE_KUBECONFIG-style variables apply when the
	// configuration leaves a key empty.
	k := &c.Kubernetes
	for _, p := range []struct {
		dst *string
		val string
	}{{&k.Kubeconfig, g.kube.Kubeconfig}, {&k.Context, g.kube.Context},
		{&k.ClusterName, g.kube.Name}, {&k.NodeName, g.nodeName}} {
		if *p.dst == "" {
			*p.dst = p.val
		}
	}
	if k, ok := envKey(); ok {
		c.API.Keys = append(c.API.Keys, k)
	}
	if err := checkServeConfig(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkServeConfig refuses a configuration whose settings do not fit
// together or are out of range, naming the setting.
func checkServeConfig(c *serveConfig) error {
	if (c.API.TLSCert == "") != (c.API.TLSKey == "") {
		return errors.New("api.tls_cert and api.tls_key go together")
	}
	if err := backend.Check(c.Store); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if c.Metrics.TopItems < 1 || c.Metrics.TopItems > maxMetricsTopItems {
		return fmt.Errorf("metrics.top_items: must be between 1 and %d (got %d)", maxMetricsTopItems, c.Metrics.TopItems)
	}
	if c.KeepTasks < 1 {
		return fmt.Errorf("keep_tasks: must be at least 1 (got %d)", c.KeepTasks)
	}
	if u := c.Upstream; u.Server != "" {
		if _, err := client.New(u.Server, u.SecretID, u.SecretKey); err != nil {
			return fmt.Errorf("upstream: %w (set upstream.secret_id and upstream.secret_key, or BASELINE_UPSTREAM_SECRET_ID and BASELINE_UPSTREAM_SECRET_KEY)", err)
		}
		if u.Backoff <= 0 || u.MaxBackoff < u.Backoff || u.OutboxSize < 1 {
			return fmt.Errorf("upstream: backoff must be positive, max_backoff at least backoff and outbox_size at least 1 (got %s, %s, %d)",
				u.Backoff, u.MaxBackoff, u.OutboxSize)
		}
	}
	return nil
}

// envKey is the single key that may come from the environment alone
// (BASELINE_API_SECRET_ID, BASELINE_API_SECRET_KEY), with its options
// (BASELINE_API_READ_ONLY, BASELINE_API_NODES, BASELINE_API_UPLOAD_ANY_NODE).
func envKey() (server.Key, bool) {
	id, key := os.Getenv("BASELINE_API_SECRET_ID"), os.Getenv("BASELINE_API_SECRET_KEY")
	if id == "" || key == "" {
		return server.Key{}, false
	}
	k := server.Key{SecretID: id, SecretKey: key, ReadOnly: os.Getenv("BASELINE_API_READ_ONLY") == "true",
		UploadAnyNode: os.Getenv("BASELINE_API_UPLOAD_ANY_NODE") == "true"}
	for n := range strings.SplitSeq(os.Getenv("BASELINE_API_NODES"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			k.Nodes = append(k.Nodes, n)
		}
	}
	return k, true
}

// setAPIDefaults sets the defaults of the api section (every key needs one
// for its BASELINE_API_* variable to be read).
func setAPIDefaults(v *viper.Viper) {
	v.SetDefault("api.listen", "127.0.0.1:8443")
	v.SetDefault("api.max_body_bytes", 1<<20)
	v.SetDefault("api.max_upload_bytes", api.DefaultMaxUploadBytes)
	v.SetDefault("api.rate_per_second", 20)
	v.SetDefault("api.burst", 40)
	v.SetDefault("api.auth_failures_per_second", 1)
	v.SetDefault("api.auth_failure_burst", 20)
	v.SetDefault("api.require_signed_action", false)
	v.SetDefault("api.max_spooled_bodies", server.DefaultMaxSpooledBodies)
}

func newServeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: period tasks on schedule and the compliance API",
		Long: `Run the daemon: the scheduler runs each asset type's period task every 1, 3
or 7 days at its time, and the compliance API answers signed requests
(TC3-HMAC-SHA256) on one endpoint. Configuration comes from a file
(--config, or /etc/baseline/config.yaml), BASELINE_* environment variables
and flags; see deploy/config.example.yaml. SIGTERM stops it gracefully: a
running task finishes within shutdown_grace or is recorded as interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := loadServeConfig(cmd, g, g.config)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), g, c)
		},
	}
	fl := cmd.Flags()
	fl.String("listen", "", "API address (default 127.0.0.1:8443)")
	fl.String("docker-host", "", "Docker engine address")
	fl.String("cri-endpoint", "", "the container runtime's CRI socket (default: the kubelet's, then the usual containerd and CRI-O sockets)")
	fl.String("timezone", "", "time zone of the period tasks' execution times (default Local)")
	fl.Int("keep-tasks", 0, "tasks to keep")
	return cmd
}

func newLogger(g *globals, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log_level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "text" {
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
}

// upstreamForwarder forwards each completed task to the configured upstream
// daemon, if any, through the store's outbox; stop lets an upload under
// way finish for at most 10 s (what is not acknowledged stays in the
// outbox for the next start).
func upstreamForwarder(ctx context.Context, c *serveConfig, db store.Store, log *slog.Logger) (completed func(store.Task, *results.Report), stop func(), err error) {
	u := c.Upstream
	if u.Server == "" {
		return nil, func() {}, nil
	}
	st, ok := db.(store.OutboxStore)
	if !ok {
		return nil, nil, fmt.Errorf("upstream: the store (%s) keeps no outbox", backend.Describe(c.Store, c.DataDir))
	}
	uc, err := client.New(u.Server, u.SecretID, u.SecretKey)
	if err != nil {
		return nil, nil, fmt.Errorf("upstream: %w", err)
	}
	fwd, err := upstream.New(ctx, uc, st, upstream.Options{Backoff: u.Backoff, MaxBackoff: u.MaxBackoff, OutboxSize: u.OutboxSize, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("upstream: %w", err)
	}
	return fwd.Forward, func() {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		fwd.Close(fctx)
		cancel()
	}, nil
}

// startAPI listens on addr (the setting named key) and serves h there,
// over TLS when the API is configured with it; it returns the server and
// its URL, and sends a serving error to errc.
func startAPI(c *serveConfig, key, addr string, h http.Handler, errc chan<- error) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", key, err)
	}
	httpSrv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		var err error
		if c.API.TLSCert != "" {
			err = httpSrv.ServeTLS(ln, c.API.TLSCert, c.API.TLSKey)
		} else {
			err = httpSrv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("%s: %w", key, err)
		}
	}()
	scheme := "http"
	if c.API.TLSCert != "" {
		scheme = "https"
	}
	return httpSrv, scheme + "://" + ln.Addr().String(), nil
}

// serve runs the daemon until ctx ends.
// listen serves the API and the console on api.listen, and the console
// alone on console.listen when it is set; stop shuts them down (waiting up
// to 10 s for requests under way).
func listen(c *serveConfig, api *server.Server, con *console.Console, errc chan<- error) (stop func(), addr, consoleAddr string, err error) {
	apiSrv, addr, err := startAPI(c, "api.listen", c.API.Listen, console.Handler(con, api), errc)
	if err != nil {
		return nil, "", "", err
	}
	servers := []*http.Server{apiSrv}
	consoleAddr = addr
	if c.Console.Listen != "" {
		conSrv, a, err := startAPI(c, "console.listen", c.Console.Listen, console.Only(con, api), errc)
		if err != nil {
			_ = apiSrv.Close()
			return nil, "", "", err
		}
		servers, consoleAddr = append(servers, conSrv), a
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, srv := range servers {
			_ = srv.Shutdown(ctx)
		}
	}, addr, consoleAddr, nil
}

func serve(ctx context.Context, g *globals, c *serveConfig) error {
	log, err := newLogger(g, c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return fmt.Errorf("timezone: %w", err)
	}
	g.dataDir, g.store = c.DataDir, c.Store
	cat, err := loadCatalog(g)
	if err != nil {
		return err
	}
	db, err := openStoreWith(ctx, g, backend.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.EnsurePeriodTasks(ctx); err != nil {
		return err
	}
	signer, err := loadSigner(c.SigningKey, c.DataDir)
	if err != nil {
		return err
	}
	completed, stopForwarding, err := upstreamForwarder(ctx, c, db, log)
	if err != nil {
		return err
	}
	// Last, once the runner is done: the tasks that just finished are in
	// the outbox, and the upload under way may finish.
	defer stopForwarding()
	r, err := runner.New(ctx, cat, db, runner.Options{KeepTasks: c.KeepTasks, Logger: log, Completed: completed,
		Defaults: scan.Options{HostRoot: c.HostRoot, DockerHost: c.DockerHost, CRIEndpoint: c.CRIEndpoint, NoKube: c.Kubernetes.Disabled, NodeName: c.Kubernetes.NodeName, ExpectNode: c.Kubernetes.ExpectNode,
			Kube: kube.Options{Kubeconfig: c.Kubernetes.Kubeconfig, Context: c.Kubernetes.Context, Name: c.Kubernetes.ClusterName}}})
	if err != nil {
		return err
	}
	sched := schedule.New(db, func(ctx context.Context, pt store.PeriodTask) error {
		std := pt.EnabledStandards()
		scope := store.Scope{Types: []assets.Type{pt.AssetType}, Standards: std}
		_, err := r.Start(ctx, runner.Request{Trigger: store.TriggerPeriod, Scope: scope, Select: scan.Options{Types: scope.Types, Standards: std}})
		return err
	}, schedule.Options{Location: loc, Logger: log})
	api, err := server.New(db, r, server.Options{Keys: c.API.Keys, MaxBodyBytes: c.API.MaxBodyBytes, MaxUploadBytes: c.API.MaxUploadBytes, RatePerSecond: c.API.RatePerSecond,
		Burst: c.API.Burst, AuthFailuresPerSecond: c.API.AuthFailuresPerSecond, AuthFailureBurst: c.API.AuthFailureBurst,
		RequireSignedAction: c.API.RequireSignedAction, MaxSpooledBodies: c.API.MaxSpooledBodies, SpoolDir: filepath.Join(c.DataDir, "spool"),
		Logger: log, PeriodChanged: sched.Reload, ExportDir: filepath.Join(c.DataDir, "exports"), Signer: signer,
		Metrics: server.MetricsOptions{Public: c.Metrics.Public, TopItems: c.Metrics.TopItems}})
	if err != nil {
		return err
	}
	con, err := console.New(console.Options{API: api, Store: db, Catalog: cat, Logger: log, Location: loc})
	if err != nil {
		return err
	}
	errc := make(chan error, 3)
	stopHTTP, addr, consoleAddr, err := listen(c, api, con, errc)
	if err != nil {
		return err
	}
	schedCtx, stopSched := context.WithCancel(ctx)
	defer stopSched()
	go func() {
		if err := sched.Run(schedCtx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("scheduler: %w", err)
		}
	}()
	log.Info("serving", "api", addr, "console", consoleAddr+"/console/", "store", backend.Describe(c.Store, c.DataDir), "data_dir", c.DataDir,
		"timezone", loc.String(), "keys", len(c.API.Keys),
		"upstream", c.Upstream.Server)
	fmt.Fprintf(g.stderr, "baseline: serving the compliance API on %s and the console on %s/console/\n", addr, consoleAddr)
	// Start-up's garbage (the standards' YAML, parsed and compiled: about
	// 14 MB for the built-in ones) is returned to the system now rather
	// than held until the runtime's background scavenger gets to it, and
	// the executable's pages that only start-up used are reclaimed: an
	// idle daemon keeps only what it uses.
	debug.FreeOSMemory()
	if _, err := residency.ReleaseExecutable(); err != nil {
		log.Debug("start-up pages stay resident", "err", err)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", c.ShutdownGrace)
	case err = <-errc:
		log.Error("stopping", "err", err)
	}
	stopSched()
	stopHTTP()
	graceCtx, cancel := context.WithTimeout(context.Background(), c.ShutdownGrace)
	r.Shutdown(graceCtx)
	if werr := api.WaitExports(graceCtx); werr != nil {
		log.Warn("shutdown", "err", werr)
	}
	cancel()
	return err
}
