package checks

import (
	"reflect"
	"testing"

	"github.com/baselinehq/baseline/internal/jsondoc"
)

// TestSimplePathsFindWhatJSONPathFinds follows simple paths (members and
// [*]) both ways, itself and through client-go's jsonpath, over documents
// with missing members, nulls, empty and nested arrays, scalars where an
// object or array is expected, and numbers: the values and errors agree.
func TestSimplePathsFindWhatJSONPathFinds(t *testing.T) {
	docs := []string{
		`{"HostConfig":{"Privileged":false,"CapAdd":["NET_ADMIN","SYS_TIME"],"SecurityOpt":[],"Memory":0,"Ulimits":null},
		  "Config":{"Env":["A=1","B=2"],"User":"","Labels":{"a.b/c":"x"}},"Mounts":[{"Source":"/a"},{"Source":""},{"Other":1},{"Source":"/b"}]}`,
		`{"a":[[],[1,2]],"b":[{"c":[]},{"c":[1]},{"c":[2,3]}],"d":[{"c":[1]},{"c":[]},{"c":[4]}],"e":"text","f":[null,{"g":true}],"h":{"i":{}}}`,
		`{"config":{"rules":[{"level":"Metadata","resources":[{"resources":["secrets"]},{"resources":[]}]},{"level":"None"}]}}`,
		`[1,2,{"a":1}]`,
		`"just text"`,
	}
	paths := []string{
		"{.HostConfig.Privileged}", ".HostConfig.CapAdd[*]", "HostConfig.SecurityOpt[*]", "{.HostConfig.Memory}",
		"{.HostConfig.Ulimits}", "{.HostConfig}", "{.Config.Env[*]}", "{.Config.User}", "{.Config.Labels.a\\.b/c}",
		"{.Mounts[*].Source}", "{.Mounts[*]}", "{.missing.deeper[*].x}", "{.a[*][*]}", "{.a[*]}", "{.b[*].c[*]}",
		"{.d[*].c[*]}", "{.e[*]}", "{.e.x}", "{.f[*].g}", "{.f[*]}", "{.h.i}", "{.h}", "{.config.rules[*].level}",
		"{.config.rules[*].resources[*].resources[*]}", "{.HostConfig.CapAdd[*].x}", "{.Config.Env}",
	}
	for _, raw := range docs {
		doc, err := jsondoc.Decode([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, expr := range paths {
			p, err := compilePath(expr)
			if err != nil {
				t.Fatal(err)
			}
			if p.steps == nil {
				t.Fatalf("%s: not followed as a simple path", expr)
			}
			fast, fastErr := p.Find(doc)
			p.steps = nil
			slow, slowErr := p.Find(doc)
			if !reflect.DeepEqual(fast, slow) || (fastErr == nil) != (slowErr == nil) || fastErr != nil && fastErr.Error() != slowErr.Error() {
				t.Errorf("%s in %.40s: %q, %v; client-go's jsonpath: %q, %v", expr, raw, fast, fastErr, slow, slowErr)
			}
		}
	}
	for _, expr := range []string{"{.a[0]}", "{.a.*}", "{..a}", "{.HostConfig['SecurityOpt','Privileged']}", "{.a[?(@.b==1)]}", "{.a[1:]}"} {
		if p, err := compilePath(expr); err != nil || p.steps != nil {
			t.Errorf("%s: taken as a simple path (%v)", expr, err)
		}
	}
}
