package report_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/baselinehq/baseline/report"
)

func newTestSigner(t *testing.T) *report.Signer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return report.NewSigner(key)
}

func exportWith(t *testing.T, enc report.Encoder, signer *report.Signer) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Export(context.Background(), enc, &buf, exportFixture(), signer, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSignedExportEveryFormat: a signed export of every format verifies
// with the signer's key, and with no other; a one-byte edit breaks it.
func TestSignedExportEveryFormat(t *testing.T) {
	signer, other := newTestSigner(t), newTestSigner(t)
	for _, enc := range report.Encoders() {
		t.Run(enc.Format(), func(t *testing.T) {
			data := exportWith(t, enc, signer)
			v, err := report.VerifyExport(data)
			if err != nil || !v.Intact || !v.Signed() || v.Signer != signer.Fingerprint() {
				t.Fatalf("VerifyExport = %+v, %v; want intact, signed by %s", v, err, signer.Fingerprint())
			}
			if err := v.CheckSignature(signer.Public()); err != nil {
				t.Fatalf("CheckSignature(signer) = %v", err)
			}
			if err := v.CheckSignature(other.Public()); err == nil || !strings.Contains(err.Error(), "ANOTHER KEY") {
				t.Fatalf("CheckSignature(other key) = %v, want SIGNED BY ANOTHER KEY", err)
			}
			// The results digest does not depend on the signature.
			unsigned, err := report.VerifyExport(exportWith(t, enc, nil))
			if err != nil || unsigned.Results != v.Results {
				t.Fatalf("results digest signed %s, unsigned %s (%v)", v.Results, unsigned.Results, err)
			}
			for _, at := range []int{len(data) / 3, len(data) / 2, len(data) - 200} {
				edited := bytes.Clone(data)
				edited[at] ^= 0x01
				ev, err := report.VerifyExport(edited)
				if err == nil && ev.CheckSignature(signer.Public()) == nil {
					t.Fatalf("byte %d edited: still verifies", at)
				}
			}
		})
	}
}

// TestSignatureEdited: a text export whose signature or signer is replaced
// keeps its content digest (the signature is outside it) but fails the
// key check; one without the signature fields fails its content digest.
func TestSignatureEdited(t *testing.T) {
	signer, other := newTestSigner(t), newTestSigner(t)
	for _, enc := range report.Encoders() {
		if enc.Format() == "xlsx" {
			continue // cells, not bytes: covered by the byte edits above
		}
		t.Run(enc.Format(), func(t *testing.T) {
			data := string(exportWith(t, enc, signer))
			i := strings.LastIndex(data, report.SignatureMarker) + len(report.SignatureMarker)
			forged := data[:i] + strings.Repeat("A", 86) + "==" + data[i+88:]
			v, err := report.VerifyExport([]byte(forged))
			if err != nil || !v.Intact {
				t.Fatalf("forged signature: %+v, %v; want the content digest to hold", v, err)
			}
			if err := v.CheckSignature(signer.Public()); err == nil || !strings.Contains(err.Error(), "BAD SIGNATURE") {
				t.Fatalf("forged signature: CheckSignature = %v", err)
			}
			// Another key's signature over the same digests, with its
			// fingerprint: the content digest covers the fingerprint.
			j := strings.LastIndex(data, report.SignerMarker) + len(report.SignerMarker)
			swapped := data[:j] + other.Fingerprint() + data[j+64:]
			if v, err := report.VerifyExport([]byte(swapped)); err != nil || v.Intact {
				t.Fatalf("signer replaced: %+v, %v; want EDITED", v, err)
			}
			k := strings.LastIndex(data, " "+report.SignatureMarker)
			stripped := data[:k] + data[j+64:]
			if v, err := report.VerifyExport([]byte(stripped)); err != nil || v.Intact || v.Signed() {
				t.Fatalf("signature removed: %+v, %v; want EDITED, unsigned", v, err)
			}
		})
	}
}

// TestUnsignedExportEveryFormat: an export written without a key (a
// library caller) verifies for integrity, and says it is not signed.
func TestUnsignedExportEveryFormat(t *testing.T) {
	signer := newTestSigner(t)
	for _, enc := range report.Encoders() {
		t.Run(enc.Format(), func(t *testing.T) {
			data := exportWith(t, enc, nil)
			if bytes.Contains(data, []byte("baseline-signature-ed25519=")) {
				t.Fatal("an unsigned export names a signature")
			}
			v, err := report.VerifyExport(data)
			if err != nil || !v.Intact || v.Signed() || v.Signer != "" {
				t.Fatalf("VerifyExport = %+v, %v; want intact, unsigned", v, err)
			}
			if err := v.CheckSignature(signer.Public()); err == nil || !strings.Contains(err.Error(), "NOT SIGNED") {
				t.Fatalf("CheckSignature = %v, want NOT SIGNED", err)
			}
		})
	}
}

func TestLoadSignerCreatesAndReuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "signing.key")
	if _, err := report.LoadSigner(path, false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadSigner(missing, no create) = %v, want not exist", err)
	}
	s, err := report.LoadSigner(path, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", st.Mode(), err)
	}
	if dir, err := os.Stat(filepath.Dir(path)); err != nil || dir.Mode().Perm() != 0o700 {
		t.Fatalf("key directory: %v, %v; want mode 0700", dir.Mode(), err)
	}
	data, _ := os.ReadFile(path)
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		t.Fatalf("key file is not a PEM PRIVATE KEY:\n%s", data)
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err != nil {
		t.Fatalf("PKCS#8: %v", err)
	} else if _, ok := k.(ed25519.PrivateKey); !ok {
		t.Fatalf("key is a %T", k)
	}
	again, err := report.LoadSigner(path, true)
	if err != nil || again.Fingerprint() != s.Fingerprint() {
		t.Fatalf("second load: %v, fingerprint %s; want the same key %s", err, again.Fingerprint(), s.Fingerprint())
	}
	pemPub, err := report.MarshalPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := report.ParsePublicKey(pemPub)
	if err != nil || report.Fingerprint(pub) != s.Fingerprint() || len(s.Fingerprint()) != 64 {
		t.Fatalf("public key round trip: %v, %s", err, report.Fingerprint(pub))
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("directory holds %d files, want the key only", len(entries))
	}
}

// TestLoadSignerConcurrent: processes that start at once end with one key.
func TestLoadSignerConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.key")
	var wg sync.WaitGroup
	fps := make([]string, 8)
	errs := make([]error, 8)
	for i := range fps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := report.LoadSigner(path, true)
			if err == nil {
				fps[i] = s.Fingerprint()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range fps {
		if errs[i] != nil || fps[i] != fps[0] {
			t.Fatalf("load %d: %v, %s; want %s", i, errs[i], fps[i], fps[0])
		}
	}
}

func TestLoadSignerRefuses(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.key")
	if _, err := report.LoadSigner(good, true); err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := os.ReadFile(good)
	_, rsaLike, _ := ed25519.GenerateKey(rand.Reader)
	pub, _ := x509.MarshalPKIXPublicKey(rsaLike.Public())
	cases := []struct {
		name, want string
		data       []byte
		mode       os.FileMode
	}{
		{"world-readable", "mode 0644", keyPEM, 0o644},
		{"group-readable", "mode 0640", keyPEM, 0o640},
		{"garbage", "not a PEM PRIVATE KEY", []byte("not a key\n"), 0o600},
		{"public key", "not a PEM PRIVATE KEY", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600},
		{"bad DER", "signing key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), 0o600},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".key")
			if err := os.WriteFile(path, c.data, c.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
			_, err := report.LoadSigner(path, true)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadSigner = %v, want an error naming %s with %q", err, path, c.want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, c.data) {
				t.Fatal("the refused key file was changed")
			}
		})
	}
	if _, err := report.LoadSigner(dir, true); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("LoadSigner(directory) = %v", err)
	}
}
