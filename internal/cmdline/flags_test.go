package cmdline

import (
	"reflect"
	"testing"
)

func TestParseFlags(t *testing.T) {
	cases := []struct {
		args []string
		want map[string][]string
	}{
		{[]string{"--icc=false", "--tlsverify", "-H", "fd://", "-H", "tcp://0.0.0.0:2376"},
			map[string][]string{"--icc": {"false"}, "--tlsverify": {"true"}, "-H": {"fd://", "tcp://0.0.0.0:2376"}}},
		{[]string{"--debug", "--log-level", "info"}, map[string][]string{"--debug": {"true"}, "--log-level": {"info"}}},
		{[]string{"anonymous-auth:", "false"}, map[string][]string{"anonymous-auth": {"false"}}},
		{[]string{"--a=b=c", "--"}, map[string][]string{"--a": {"b=c"}}},
		{nil, map[string][]string{}},
	}
	for _, c := range cases {
		if got := ParseFlags(c.args); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFlags(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}
