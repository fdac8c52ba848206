// Package kube reads a Kubernetes cluster through its API for the cluster
// checks: who the cluster is (name, version, identity) and its objects,
// one paged List per resource per scan, never one call per object. It only
// reads: get, list and the version endpoint.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// PageSize is the number of objects asked for per List call.
const PageSize = 500

// RequestTimeout bounds one API request.
const RequestTimeout = 60 * time.Second

// resources maps a resource name of a kube source to its API group,
// version and kind.
var resources = map[string]struct {
	gvr  schema.GroupVersionResource
	kind string
}{
	"namespaces":          {schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "namespace"},
	"pods":                {schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "pod"},
	"serviceaccounts":     {schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, "serviceaccount"},
	"nodes":               {schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, "node"},
	"roles":               {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, "role"},
	"clusterroles":        {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, "clusterrole"},
	"rolebindings":        {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, "rolebinding"},
	"clusterrolebindings": {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, "clusterrolebinding"},
	"networkpolicies":     {schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, "networkpolicy"},
}

// Options say how to reach the cluster.
type Options struct {
	// Kubeconfig is a kubeconfig file; empty means $KUBECONFIG, then the
	// in-cluster service account, then ~/.kube/config.
	Kubeconfig string
	// Context selects a kubeconfig context (default: the current one).
	Context string
	// Name overrides the cluster's name (default: the kubeconfig's cluster
	// name, or "kubernetes" in a pod).
	Name string
}

// Configured reports whether a cluster is configured at all: a kubeconfig
// is named, $KUBECONFIG is set, we run in a pod with a service account
// token, or ~/.kube/config exists.
func Configured(o Options) bool {
	if o.Kubeconfig != "" || os.Getenv("KUBECONFIG") != "" {
		return true
	}
	if _, err := rest.InClusterConfig(); err == nil {
		return true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(home, ".kube", "config"))
	return err == nil
}

// KubeconfigFiles returns the kubeconfig files a client made with these
// options reads, as absolute paths in kubectl's order of precedence (what
// KUBECONFIG must hold for kubectl to read the same): the named file, else
// the existing files of $KUBECONFIG, else ~/.kube/config when it exists.
// None means that no file is in play: the client uses the pod's service
// account, or there is no cluster at all. A named file that does not exist
// is an error, as it is for the client.
func KubeconfigFiles(o Options) ([]string, error) {
	var files []string
	if o.Kubeconfig != "" {
		if _, err := os.Stat(o.Kubeconfig); err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		files = []string{o.Kubeconfig}
	} else {
		for _, f := range clientcmd.NewDefaultClientConfigLoadingRules().Precedence {
			if _, err := os.Stat(f); f != "" && err == nil {
				files = append(files, f)
			}
		}
	}
	for i, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", f, err)
		}
		files[i] = abs
	}
	return files, nil
}

// Client reads one cluster. Objects are listed once per resource and kept
// for the scan.
type Client struct {
	name   string
	server string
	dyn    dynamic.Interface
	// rest reads /version. (client-go's discovery client would do it too,
	// but it links every API group's types and registers them at start-up,
	// in every command of the binary.)
	rest *rest.RESTClient

	calls   atomic.Int64
	mu      sync.Mutex
	byOp    map[string]int
	lists   sync.Map // resource → *listing
	infoMu  sync.Mutex
	info    *Info
	infoErr error
}

type listing struct {
	once sync.Once
	objs []Object
	err  error
}

// Connect builds a client; it does not call the API yet.
func Connect(o Options) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration: %w", err)
	}
	name := o.Name
	if name == "" {
		if raw, err := cc.RawConfig(); err == nil {
			ctxName := o.Context
			if ctxName == "" {
				ctxName = raw.CurrentContext
			}
			if c, ok := raw.Contexts[ctxName]; ok {
				name = c.Cluster
			}
		}
	}
	if name == "" {
		name = "kubernetes"
	}
	return NewForConfig(cfg, name)
}

// NewForConfig builds a client from a REST configuration.
func NewForConfig(cfg *rest.Config, name string) (*Client, error) {
	c := &Client{name: name, server: cfg.Host, byOp: map[string]int{}}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	if cfg.Timeout == 0 {
		// One request (a page of 500 objects) never holds a scan longer.
		cfg.Timeout = RequestTimeout
	}
	cfg.UserAgent = "baseline"
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return countingTransport{rt: rt, c: c}
	}
	var err error
	if c.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.rest, err = rest.UnversionedRESTClientFor(dynamic.ConfigFor(cfg)); err != nil {
		return nil, err
	}
	return c, nil
}

type countingTransport struct {
	rt http.RoundTripper
	c  *Client
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.c.calls.Add(1)
	op := r.Method + " " + apiOp(r.URL.Path)
	t.c.mu.Lock()
	t.c.byOp[op]++
	t.c.mu.Unlock()
	return t.rt.RoundTrip(r)
}

// apiOp reduces a request path to its resource: /api/v1/pods → pods.
func apiOp(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) > 0 && (parts[0] == "api" || parts[0] == "apis") {
		return parts[len(parts)-1]
	}
	return p
}

// Calls returns the number of API requests made, in total and by
// operation ("GET pods").
func (c *Client) Calls() (int64, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.byOp))
	for k, v := range c.byOp {
		out[k] = v
	}
	return c.calls.Load(), out
}

// Info identifies a cluster.
type Info struct {
	// Name is what people call the cluster; Server its API address.
	Name   string
	Server string
	// Version is the API server's git version (v1.37.2); Minor its
	// major.minor (1.37).
	Version string
	Minor   string
	// UID is the kube-system namespace's UID: stable for the cluster's
	// life, the same from every node and every kubeconfig.
	UID string
}

// Info reads the cluster's version and identity (two calls, once).
func (c *Client) Info(ctx context.Context) (Info, error) {
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	if c.info != nil || c.infoErr != nil {
		return *c.info, c.infoErr
	}
	c.info = &Info{Name: c.name, Server: c.server}
	v, err := c.serverVersion(ctx)
	if err != nil {
		c.infoErr = fmt.Errorf("kubernetes API %s: %w", c.server, err)
		return *c.info, c.infoErr
	}
	c.info.Version = v.GitVersion
	c.info.Minor = strings.TrimSuffix(v.Major, "+") + "." + strings.TrimSuffix(v.Minor, "+")
	ns, err := c.dyn.Resource(resources["namespaces"].gvr).Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		c.infoErr = fmt.Errorf("kubernetes API %s: reading namespace kube-system: %w", c.server, err)
		return *c.info, c.infoErr
	}
	c.info.UID = string(ns.GetUID())
	return *c.info, nil
}

// serverVersion reads the API server's version (GET /version).
func (c *Client) serverVersion(ctx context.Context) (version.Info, error) {
	var v version.Info
	raw, err := c.rest.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("unable to parse the server version: %w", err)
	}
	return v, nil
}

// Object is one API object.
type Object struct {
	// Kind is the lower-case kind (pod); Namespace empty for cluster-scoped
	// objects.
	Kind      string
	Namespace string
	Name      string
	// Doc is the object as the API returns it (managedFields and kubectl's
	// last-applied-configuration annotation removed),
	// plus, under "baseline", facts derived for the checks.
	Doc map[string]any
}

// Key is "namespace/name", or the name of a cluster-scoped object.
func (o Object) Key() string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

// Objects lists every object of a resource, once per client, in pages of
// PageSize.
func (c *Client) Objects(ctx context.Context, resource string) ([]Object, error) {
	v, _ := c.lists.LoadOrStore(resource, &listing{})
	l := v.(*listing)
	l.once.Do(func() { l.objs, l.err = c.list(ctx, resource) })
	return l.objs, l.err
}

func (c *Client) list(ctx context.Context, resource string) ([]Object, error) {
	var out []Object
	err := c.EachPage(ctx, resource, func(page []Object) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// EachPage lists every object of a resource in pages of PageSize, calling
// fn with each page as it arrives; nothing of a page is kept once fn
// returns, and at most the next page is fetched meanwhile. It lists afresh
// on each call (Objects lists once and keeps).
// A page is read as JSON and decoded once, as client-go's unstructured
// objects would be (integers as int64, other numbers as float64, each
// item with the list's kind and apiVersion), without their repeated
// validation and decoding.
func (c *Client) EachPage(ctx context.Context, resource string, fn func([]Object) error) error {
	r, ok := resources[resource]
	if !ok {
		return fmt.Errorf("kubernetes resource %q is not supported", resource)
	}
	path := "/api/" + r.gvr.Version + "/" + r.gvr.Resource
	if r.gvr.Group != "" {
		path = "/apis/" + r.gvr.Group + "/" + r.gvr.Version + "/" + r.gvr.Resource
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // an error from fn: the page being fetched is abandoned
	type fetched struct {
		page []Object
		next string
		err  error
	}
	// The next page is fetched and decoded while fn judges this one: the
	// API server's time to answer overlaps the judging.
	fetch := func(token string) <-chan fetched {
		out := make(chan fetched, 1)
		go func() {
			req := c.rest.Get().AbsPath(path).Param("limit", strconv.Itoa(PageSize))
			if token != "" {
				req = req.Param("continue", token)
			}
			raw, err := req.Do(ctx).Raw()
			// A continue token names the snapshot the list began in; once
			// the API server has compacted it (a list that took longer than
			// its compaction interval, 5 minutes by default) the page is
			// refused with 410 Gone and a fresh token that goes on from the
			// same key in the current snapshot. The list goes on with it
			// (no object is listed twice: keys only grow), rather than the
			// scan failing.
			for retries := 0; err != nil && retries < maxExpiredContinues; retries++ {
				fresh, ok := expiredContinue(raw, err)
				if !ok {
					break
				}
				slog.Warn("a Kubernetes list outlived its snapshot: it goes on in the current one", "resource", resource)
				raw, err = c.rest.Get().AbsPath(path).Param("limit", strconv.Itoa(PageSize)).Param("continue", fresh).Do(ctx).Raw()
			}
			if err != nil {
				out <- fetched{err: fmt.Errorf("listing %s: %w", resource, err)}
				return
			}
			page, next, err := decodePage(raw, r.kind)
			if err != nil {
				err = fmt.Errorf("listing %s: %w", resource, err)
			}
			out <- fetched{page: page, next: next, err: err}
		}()
		return out
	}
	pending := fetch("")
	for {
		f := <-pending
		if f.err != nil {
			return f.err
		}
		if f.next != "" {
			pending = fetch(f.next)
		}
		if err := fn(f.page); err != nil {
			return err
		}
		if f.next == "" {
			return nil
		}
	}
}

// maxExpiredContinues bounds how often one page of a list is asked again
// with the fresh continue token of a 410 Gone answer.
const maxExpiredContinues = 3

// expiredContinue returns the fresh continue token of an API server's
// answer (body raw) that a list's continue token expired (410 Gone, the
// token's snapshot compacted), if err is one.
func expiredContinue(raw []byte, err error) (string, bool) {
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.ErrStatus.Code != http.StatusGone {
		return "", false
	}
	fresh := se.ErrStatus.Continue
	var st metav1.Status
	if fresh == "" && json.Unmarshal(raw, &st) == nil {
		fresh = st.Continue
	}
	return fresh, fresh != ""
}

// listedObject is a listed object, without its bookkeeping copies of itself.
func listedObject(kind string, u *unstructured.Unstructured) Object {
	doc := u.Object
	if md, ok := doc["metadata"].(map[string]any); ok {
		// Bookkeeping copies of the object itself: no check reads
		// them, and they can double its size.
		delete(md, "managedFields")
		if ann, ok := md["annotations"].(map[string]any); ok {
			delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		}
	}
	return Object{Kind: kind, Namespace: u.GetNamespace(), Name: u.GetName(), Doc: doc}
}
