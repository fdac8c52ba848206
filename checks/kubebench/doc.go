// Package kubebench loads a kube-bench benchmark directory, unchanged, as a
// standard of k8s node items: config.yaml (components per node type,
// version_mapping, target_mapping), one benchmark version's config.yaml
// merged over it, and the version's target files (master, etcd,
// controlplane, node, policies, ...).
//
// kube-bench's variables ($apiserverbin, $kubeletconf, $etcddatadir, ...)
// are resolved on the host as kube-bench resolves them: the first of a
// component's bins that runs (by command name, as `ps -C` finds it, and
// command line), the first of its files that exists, else the default.
// Each check becomes an item whose source is the check's audit (and
// audit_config) with the variables substituted, and whose tests are the
// check's tests converted to ours. Item ids are IDBase plus a hash of the
// standard, the target and the check's id. An unscored check whose tests
// fail is a review (checks.Item.ReviewOnFail), as kube-bench's WARN, unless
// Options.Strict reports it as failed.
//
// benchmarks/KUBE-BENCH.md lists where the verdicts differ from kube-bench's
// and why; compat_test.go runs both engines on the same processes and
// asserts it.
package kubebench
