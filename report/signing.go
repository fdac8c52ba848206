package report

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Markers of an export's signature: the Ed25519 signature (standard
// base64, 88 characters) and the SHA-256 fingerprint of the signer's
// public key (hex, of its PKIX DER encoding). They follow the content
// digest. The content digest counts the signature as 88 zeros (it is
// computed before the signature, which covers it); the signer's
// fingerprint is counted as written.
const (
	SignatureMarker = "baseline-signature-ed25519="
	SignerMarker    = "baseline-signer-sha256="
	signatureLen    = 88
	// signatureDomain starts the signed message, so that a signature of an
	// export cannot be taken for one of anything else.
	signatureDomain = "baseline-export-v1\n"
)

var zeroSignature = strings.Repeat("0", signatureLen)

// Signer signs exports with an Ed25519 private key.
type Signer struct {
	key         ed25519.PrivateKey
	fingerprint string
}

// NewSigner returns a signer of key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	pub, _ := key.Public().(ed25519.PublicKey)
	return &Signer{key: key, fingerprint: Fingerprint(pub)}
}

// Public is the signer's public key.
func (s *Signer) Public() ed25519.PublicKey {
	pub, _ := s.key.Public().(ed25519.PublicKey)
	return pub
}

// Fingerprint is the hex SHA-256 of the signer's public key (PKIX DER).
func (s *Signer) Fingerprint() string { return s.fingerprint }

// sign signs an export's digests; the result is base64.
func (s *Signer) sign(results, content string) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, signedMessage(results, content)))
}

// signedMessage is what an export's signature signs: the content digest
// covers every byte of the export (the signer's fingerprint included).
func signedMessage(results, content string) []byte {
	return []byte(signatureDomain + results + "\n" + content)
}

// Fingerprint is the hex SHA-256 of a public key's PKIX DER encoding.
func Fingerprint(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // only for a key of the wrong size
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// MarshalPublicKey encodes a public key as PEM "PUBLIC KEY" (PKIX), which
// `baseline report verify --key` and standard tools read.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey reads a PEM "PUBLIC KEY" holding an Ed25519 key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 public key", k)
	}
	return pub, nil
}

// LoadSigner reads the signing key at path (PEM "PRIVATE KEY", PKCS#8,
// Ed25519). When the file does not exist and create is set, a new key is
// generated and written there, mode 0600, its directory created 0700 if
// missing: the file is written whole under a temporary name, then linked
// into place, which fails if another process got there first (its key is
// then read). A key file that others may read or write, or that is not an
// Ed25519 PKCS#8 key, is refused.
func LoadSigner(path string, create bool) (*Signer, error) {
	s, err := readSigner(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !create {
		return s, err
	}
	if err := writeNewKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return readSigner(path)
}

func readSigner(path string) (*Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("signing key %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("signing key %s: mode %04o lets other users read or change it; run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, err
	}
	key, err := parsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return NewSigner(key), nil
}

func parsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM PRIVATE KEY (PKCS#8)")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 private key", k)
	}
	return key, nil
}

// writeNewKey generates a key and links it into place at path; the error
// wraps fs.ErrExist when path already exists.
func writeNewKey(path string) error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // O_EXCL, mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

// Verification is what an export says of itself: its digests, whether its
// content matches its content digest, and its signature, if any.
type Verification struct {
	Results, Content string
	// Intact is true when the content digest holds.
	Intact bool
	// Signature (base64) and Signer (the public key's hex SHA-256) are
	// empty when the export is not signed. Signer is what the file claims:
	// only CheckSignature with a trusted key proves the origin.
	Signature, Signer string
}

// Signed reports whether the export carries a signature.
func (v Verification) Signed() bool { return v.Signature != "" }

// CheckSignature proves that the export was signed with pub: its content
// must be intact and its signature valid for pub.
func (v Verification) CheckSignature(pub ed25519.PublicKey) error {
	want := Fingerprint(pub)
	switch {
	case !v.Intact:
		return errors.New("EDITED: the content does not match its digest")
	case !v.Signed():
		return errors.New("NOT SIGNED: the export carries no signature")
	case v.Signer != want:
		return fmt.Errorf("SIGNED BY ANOTHER KEY: signer sha256 %s, the given key's is %s", orDefault(v.Signer, "(none)"), want)
	}
	sig, err := base64.StdEncoding.DecodeString(v.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, signedMessage(v.Results, v.Content), sig) {
		return errors.New("BAD SIGNATURE: the signature does not verify with the given key")
	}
	return nil
}

// signatureAt reads the signature that follows SignatureMarker at s[i:]
// (88 characters), or "".
func signatureAt(s string, i int) string {
	if i < 0 || len(s) < i+len(SignatureMarker)+signatureLen {
		return ""
	}
	return s[i+len(SignatureMarker) : i+len(SignatureMarker)+signatureLen]
}

// signerAt reads the fingerprint that follows SignerMarker at s[i:], or "".
func signerAt(s string, i int) string {
	if i < 0 || len(s) < i+len(SignerMarker)+64 {
		return ""
	}
	fp := s[i+len(SignerMarker) : i+len(SignerMarker)+64]
	if _, err := hex.DecodeString(fp); err != nil {
		return ""
	}
	return fp
}
