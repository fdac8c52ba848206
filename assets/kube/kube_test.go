package kube

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestDecodePageAsUnstructured: a List response decoded item by item gives
// the documents client-go's unstructured decoding gives (integers int64,
// other numbers float64, nulls kept, the list's kind and apiVersion on
// each item), without the bookkeeping copies, and the continue token.
func TestDecodePageAsUnstructured(t *testing.T) {
	raw := []byte(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"tok-1"},"items":[
 {"metadata":{"name":"a","namespace":"ns","managedFields":[{"manager":"x"}],"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}","keep":"1"}},
  "spec":{"containers":[{"name":"c","ports":[{"hostPort":8080,"protocol":"TCP"}],"resources":{"limits":{"cpu":0.5}}}],"priority":null,"big":12345678901234567890,"exp":1e3,"neg":-7,
  "env":[{"name":"X","value":"a\"b\u00e9\n<&>"}],"flags":[true,false,[1,2.5,[]],{}]}},
 {"kind":"Pod","apiVersion":"v1","metadata":{"name":"b","namespace":"ns"},"spec":{}}]}`)
	got, next, err := decodePage(raw, "pod")
	if err != nil {
		t.Fatal(err)
	}
	if next != "tok-1" {
		t.Errorf("continue %q, want tok-1", next)
	}
	var list unstructured.UnstructuredList
	if err := list.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(list.Items) {
		t.Fatalf("%d objects, want %d", len(got), len(list.Items))
	}
	for i := range list.Items {
		want := listedObject("pod", &list.Items[i])
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("object %d:\n got %#v\nwant %#v", i, got[i], want)
		}
	}
	empty, next, err := decodePage([]byte(`{"kind":"PodList","apiVersion":"v1","metadata":{},"items":null}`), "pod")
	if err != nil || len(empty) != 0 || next != "" {
		t.Errorf("an empty list: %v, %q, %v", empty, next, err)
	}
}
