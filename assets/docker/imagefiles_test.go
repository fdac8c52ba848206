package docker

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

type entry struct {
	name string
	mode int64
}

func layerTar(t *testing.T, entries ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: tar.TypeReg}
		if e.name[len(e.name)-1] == '/' {
			hdr.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	return buf.Bytes()
}

// saveArchive builds a `docker save` archive whose manifest lists layers in
// order; files are written in reverse order, as nothing guarantees order.
func saveArchive(t *testing.T, layers map[string][]byte, order []string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	manifest, _ := json.Marshal([]map[string]any{{"Config": "cfg.json", "Layers": order}})
	write := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	write("manifest.json", manifest)
	write("cfg.json", []byte(`{"config":{}}`))
	for i := len(order) - 1; i >= 0; i-- {
		if data, ok := layers[order[i]]; ok {
			write(order[i], data)
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestSpecialFilesFollowLayersAndWhiteouts(t *testing.T) {
	layers := map[string][]byte{
		"l1/layer.tar": layerTar(t, entry{"usr/", 0o755}, entry{"usr/bin/passwd", 0o4755}, entry{"usr/bin/wall", 0o2755},
			entry{"usr/bin/su", 0o4755}, entry{"opt/tool/helper", 0o4711}, entry{"bin/ok", 0o755}),
		// l2 deletes su, hides /opt/tool's content, re-adds wall without setgid.
		"blobs/sha256/l2": layerTar(t, entry{"usr/bin/.wh.su", 0}, entry{"opt/tool/.wh..wh..opq", 0}, entry{"usr/bin/wall", 0o755}),
		// l3 adds a new setuid file.
		"l3/layer.tar": layerTar(t, entry{"./usr/local/bin/mine", 0o6755}),
	}
	sf, err := specialFiles(bytes.NewReader(saveArchive(t, layers, []string{"l1/layer.tar", "blobs/sha256/l2", "l3/layer.tar"})))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/usr/bin/passwd", "/usr/local/bin/mine"}; !reflect.DeepEqual(sf.Setuid, want) {
		t.Errorf("setuid = %v, want %v", sf.Setuid, want)
	}
	if want := []string{"/usr/local/bin/mine"}; !reflect.DeepEqual(sf.Setgid, want) {
		t.Errorf("setgid = %v, want %v", sf.Setgid, want)
	}
}

func TestSpecialFilesRejectsBrokenArchives(t *testing.T) {
	if _, err := specialFiles(bytes.NewReader(saveArchive(t, map[string][]byte{}, []string{"missing/layer.tar"}))); err == nil {
		t.Error("a manifest naming a missing layer was accepted")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.Close()
	if _, err := specialFiles(&buf); err == nil {
		t.Error("an archive without manifest.json was accepted")
	}
}
