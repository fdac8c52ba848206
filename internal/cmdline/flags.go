// Package cmdline parses command lines into flags, by whole flag name.
package cmdline

import "strings"

// ParseFlags reads command-line arguments into flags. It accepts
// `--flag=value`, `--flag value` (when value does not start with a dash),
// bare boolean `--flag` (value "true") and YAML-ish `flag: value`. Flags
// are matched by whole name: `--tls` never matches `--tlsverify`.
// Repeated flags keep every value in order. Keys keep their dashes.
func ParseFlags(args []string) map[string][]string {
	flags := map[string][]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "-") && len(a) > 1 && a != "--":
			name, val, hasVal := strings.Cut(a, "=")
			if !hasVal {
				if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && !strings.HasSuffix(args[i+1], ":") {
					val = args[i+1]
					i++
				} else {
					val = "true"
				}
			}
			flags[name] = append(flags[name], val)
		case strings.HasSuffix(a, ":") && len(a) > 1:
			name := strings.TrimSuffix(a, ":")
			val := ""
			if i+1 < len(args) {
				val = args[i+1]
				i++
			}
			flags[name] = append(flags[name], val)
		}
	}
	return flags
}
