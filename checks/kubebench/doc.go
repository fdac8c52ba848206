// Package kubebench loads kube-bench benchmark directories.
package kubebench
