package imagefs

import (
	"archive/tar"
	"bytes"
	"reflect"
	"testing"
)

type file struct {
	name    string
	mode    int64
	content string
}

func layer(t *testing.T, files ...file) *Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.content)); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	var rd Reader
	li, err := rd.Index(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return li
}

// Setuid and setgid files follow the layers' whiteouts; secret-looking
// files are found by name and by a PEM header at a line's start, and one
// that a later layer removes is still listed, saying so.
func TestFlattenFindsSpecialAndSecretFiles(t *testing.T) {
	l1 := layer(t,
		file{"usr/bin/su", 0o4755, ""}, file{"usr/bin/wall", 0o2755, ""}, file{"opt/tool/helper", 0o4711, ""},
		file{"root/.ssh/id_rsa", 0o600, "whatever"},
		file{"srv/key.txt", 0o644, "# deploy key\n-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n"},
		file{"srv/cert.pem", 0o644, "-----BEGIN CERTIFICATE-----\nxx\n"},
		file{"srv/doc.txt", 0o644, "an example: -----BEGIN RSA PRIVATE KEY----- inline"},
	)
	l2 := layer(t, file{"usr/bin/.wh.su", 0, ""}, file{"opt/tool/.wh..wh..opq", 0, ""}, file{"root/.ssh/.wh.id_rsa", 0, ""},
		file{"home/u/.aws/credentials", 0o600, "[default]"})
	got := Flatten([]*Layer{l1, l2})
	want := Files{
		Setgid: []string{"/usr/bin/wall"},
		Secrets: []string{
			"/home/u/.aws/credentials (AWS credentials (by its name))",
			"/root/.ssh/id_rsa (an SSH private key (by its name), removed by a later layer but still in the image's layers)",
			"/srv/key.txt (a private key (PEM header))",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}

// A layer that is not a tar stream is an error.
func TestIndexRefusesBrokenLayers(t *testing.T) {
	var rd Reader
	if _, err := rd.Index(bytes.NewReader(bytes.Repeat([]byte("x"), 1024))); err == nil {
		t.Error("a broken layer was indexed")
	}
}
