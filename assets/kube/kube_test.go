package kube

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
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

// A list whose continue token expired (the API server compacted its
// snapshot: 410 Gone with a fresh token) goes on with the fresh token, so
// every object is listed once; a 410 without a fresh token fails the list
// with the server's answer.
func TestEachPageGoesOnAfterAnExpiredContinueToken(t *testing.T) {
	pod := func(name string) string {
		return `{"metadata":{"name":"` + name + `","namespace":"default"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`
	}
	gone := func(w http.ResponseWriter, fresh string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusGone)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{"continue":%q},"status":"Failure","message":"The provided continue parameter is too old","reason":"Expired","code":410}`, fresh)
	}
	var asked []string
	var freshToken string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("continue")
		asked = append(asked, token)
		switch token {
		case "":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"old"},"items":[%s,%s]}`, pod("a"), pod("b"))
		case "old":
			gone(w, freshToken)
		case "fresh":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[%s]}`, pod("c"))
		default:
			http.Error(w, "unexpected token "+token, http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	c, err := NewForConfig(&rest.Config{Host: srv.URL}, "test")
	if err != nil {
		t.Fatal(err)
	}
	list := func() ([]string, error) {
		var names []string
		err := c.EachPage(context.Background(), "pods", func(page []Object) error {
			for _, o := range page {
				names = append(names, o.Name)
			}
			return nil
		})
		return names, err
	}

	freshToken = "fresh"
	names, err := list()
	if err != nil {
		t.Fatalf("a list whose token expired with a fresh one: %v", err)
	}
	if strings.Join(names, ",") != "a,b,c" || strings.Join(asked, ",") != ",old,fresh" {
		t.Errorf("listed %v with the tokens %q, want a,b,c with \"\", old, fresh", names, asked)
	}

	freshToken, asked = "", nil
	if _, err := list(); err == nil || !strings.Contains(err.Error(), "listing pods") || !strings.Contains(err.Error(), "410") {
		t.Errorf("a 410 without a fresh token: %v, want the list to fail with the 410", err)
	}
}
