package checks

import (
	"strings"
	"testing"
)

func TestCompareOperators(t *testing.T) {
	cases := []struct {
		op, operand, value string
		want               bool
		wantErr            string
	}{
		{"eq", "false", "false", true, ""},
		{"eq", "false", "FALSE", true, ""}, // booleans case-insensitive
		{"eq", "false", "true", false, ""},
		{"eq", "info", "Info", false, ""}, // other words exact
		{"eq", "info", "info", true, ""},
		{"noteq", "host", "host", false, ""},
		{"noteq", "host", "bridge", true, ""},
		{"noteq", "true", "True", false, ""},
		{"gt", "0", "1", true, ""},
		{"gt", "0", "0", false, ""},
		{"gte", "1024", "1024", true, ""},
		{"gte", "1024", "80", false, ""},
		{"lt", "5", "4.5", true, ""},
		{"lt", "5", "5", false, ""},
		{"lte", "5", "5", true, ""},
		{"lte", "5", "6", false, ""},
		{"gt", "0", "lots", false, "not a number"},
		{"lte", "5", "", false, "not a number"},
		{"has", "tcp://", "tcp://0.0.0.0:2376", true, ""},
		{"has", "tcp://", "unix:///run/docker.sock", false, ""},
		{"nothave", "dm.basesize", "overlay2.size=1G", true, ""},
		{"nothave", "dm.basesize", "dm.basesize=20G", false, ""},
		{"regex", `^no-new-privileges(:true|=true)?$`, "no-new-privileges:true", true, ""},
		{"regex", `^no-new-privileges(:true|=true)?$`, "no-new-privileges:false", false, ""},
		{"notregex", `^/(etc|proc)(/|$)`, "/etc/passwd", false, ""},
		{"notregex", `^/(etc|proc)(/|$)`, "/etcx", true, ""},
		{"valid_elements", "a,b,c", "a,c", true, ""},
		{"valid_elements", "a,b,c", "a,d", false, ""},
		{"valid_elements", "a,b,c", "a,,b,", true, ""},
		{"bitmask", "644", "0644", true, ""},
		{"bitmask", "644", "0600", true, ""},
		{"bitmask", "644", "0664", false, ""},
		{"bitmask", "644", "0755", false, ""},
		{"bitmask", "0660", "0660", true, ""},
		{"bitmask", "0400", "4400", false, ""}, // setuid is more permissive
		{"bitmask", "644", "rw-r--r--", false, "not an octal mode"},
		{"bitmask", "644", "0948", false, "not an octal mode"},
		{"semver", ">= 20.10", "20.10.24+dfsg1", true, ""},
		{"semver", ">= 23.0", "20.10.24", false, ""},
		{"semver", ">= 23.0", "v28.2.2", true, ""},
		{"semver", ">= 23.0", "latest", false, "not a version"},
	}
	for _, c := range cases {
		name := c.op + "/" + c.operand + "/" + c.value
		t.Run(name, func(t *testing.T) {
			cmp, err := compileCompare(&compareDef{Op: c.op, Value: c.operand})
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got, err := cmp.Match(c.value)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Match(%q) error = %v, want %q", c.value, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Match(%q): %v", c.value, err)
			}
			if got != c.want {
				t.Fatalf("%s %q on %q = %v, want %v", c.op, c.operand, c.value, got, c.want)
			}
		})
	}
}

func TestCompileCompareRejectsBadOperands(t *testing.T) {
	cases := []struct{ op, value, match, want string }{
		{"eqq", "x", "", `unknown operator "eqq"`},
		{"", "x", "", "compare.op: missing"},
		{"regex", "([", "", "bad regex"},
		{"notregex", "a{2,1}", "", "bad regex"},
		{"gt", "ten", "", "not a number"},
		{"bitmask", "999", "", "not an octal mode"},
		{"semver", ">=>= 1", "", "bad version constraint"},
		{"valid_elements", " , ", "", "comma-separated list"},
		{"eq", "x", "some", "not all or any"},
	}
	for _, c := range cases {
		_, err := compileCompare(&compareDef{Op: c.op, Value: c.value, Match: c.match})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("compileCompare(%q, %q) error = %v, want %q", c.op, c.value, err, c.want)
		}
	}
}

func TestExpectNamesSubjectAndOperand(t *testing.T) {
	for _, op := range ops {
		value := "1"
		switch op {
		case OpRegex:
			value = "^a$"
		case OpValidElements:
			value = "a,b"
		case OpBitmask:
			value = "0644"
		case OpSemver:
			value = ">= 1.0"
		}
		c, err := compileCompare(&compareDef{Op: string(op), Value: value})
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		e := c.Expect("{.x}")
		if !strings.Contains(e, "{.x}") || !strings.Contains(e, value) {
			t.Errorf("%s: Expect = %q, want subject and %q", op, e, value)
		}
	}
}
