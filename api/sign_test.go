package api

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// The spec's worked example (verified figures).
func TestSignatureWorkedExample(t *testing.T) {
	canonical := CanonicalRequest("GET", "/", "Limit=10&Offset=0",
		[][2]string{{"content-type", "application/x-www-form-urlencoded"}, {"host", "cvm.tencentcloudapi.com"}},
		[]string{"content-type", "host"}, nil)
	sum := sha256.Sum256([]byte(canonical))
	if got := hex.EncodeToString(sum[:]); got != "91c9c192c14460df6c1ffc69e34e6c5e90708de2a6d282cccf957dbf1aa7f3a7" {
		t.Errorf("hashed canonical request = %s", got)
	}
	sig := Sign("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", 1539084154, canonical)
	if sig != "5da7a33f6993f0614b047e5df4582db9e9bf4672ba50567dba16c6ccf174c474" {
		t.Errorf("signature = %s", sig)
	}
}

func TestParseAuthorization(t *testing.T) {
	c, err := ParseAuthorization("TC3-HMAC-SHA256 Credential=AKID/2018-10-09/cvm/tc3_request, SignedHeaders=content-type;host, Signature=abc")
	if err != nil || c.SecretID != "AKID" || c.Date != "2018-10-09" || c.Service != "cvm" || len(c.SignedHeaders) != 2 || c.Signature != "abc" {
		t.Errorf("parsed %+v, %v", c, err)
	}
	for _, bad := range []string{"", "HMAC Credential=a/b/c/tc3_request, SignedHeaders=host, Signature=x",
		"TC3-HMAC-SHA256 Credential=a/b/tc3_request, SignedHeaders=host, Signature=x", "TC3-HMAC-SHA256 Credential=a/b/c/tc3_request"} {
		if _, err := ParseAuthorization(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
