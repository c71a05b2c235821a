package payloadcrypt

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

type input struct {
	UserID string
	Email  string
}

func key(t *testing.T, id string, fill byte) Key {
	t.Helper()
	k, err := NewKey(id, bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func codec(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func plainPayload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A value goes through the data converter encrypted, under the first
// key's id, and comes back equal; twice, since encryption is randomised.
func TestRoundTripThroughTheDataConverter(t *testing.T) {
	dc := codec(t, key(t, "k2", 2), key(t, "k1", 1)).DataConverter()
	in := input{UserID: "user_1", Email: "ada@example.com"}
	var seen [][]byte
	for range 2 {
		p, err := dc.ToPayload(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(p.Metadata[converter.MetadataEncoding]); got != EncodingEncrypted {
			t.Fatalf("encoding %q, want %q", got, EncodingEncrypted)
		}
		if got := string(p.Metadata[MetadataKeyID]); got != "k2" {
			t.Fatalf("key id %q, want the first key k2", got)
		}
		for _, secret := range []string{"ada@example.com", "user_1", "json/plain"} {
			if bytes.Contains(p.Data, []byte(secret)) {
				t.Fatalf("ciphertext shows %q", secret)
			}
		}
		var out input
		if err := dc.FromPayload(p, &out); err != nil {
			t.Fatal(err)
		}
		if out != in {
			t.Fatalf("round trip gave %+v, want %+v", out, in)
		}
		seen = append(seen, p.Data)
	}
	if bytes.Equal(seen[0], seen[1]) {
		t.Fatal("two encryptions of one value are identical: the nonce is not random")
	}
}

// Rotation: payloads written under the old key A still decode after the
// new key B is put first, and new payloads use B.
func TestRotationDecodesPayloadsOfTheOldKey(t *testing.T) {
	a, b := key(t, "A", 0xA), key(t, "B", 0xB)
	old, err := codec(t, a).Encode([]*commonpb.Payload{plainPayload(t, input{Email: "old@example.com"})})
	if err != nil {
		t.Fatal(err)
	}
	rotated := codec(t, b, a)
	if rotated.EncryptionKeyID() != "B" {
		t.Fatalf("encrypts with %q, want B", rotated.EncryptionKeyID())
	}
	fresh, err := rotated.Encode([]*commonpb.Payload{plainPayload(t, input{Email: "new@example.com"})})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(fresh[0].Metadata[MetadataKeyID]); got != "B" {
		t.Fatalf("new payload under key %q, want B", got)
	}
	decoded, err := rotated.Decode(append(old, fresh...))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"old@example.com", "new@example.com"} {
		var got input
		if err := converter.GetDefaultDataConverter().FromPayload(decoded[i], &got); err != nil || got.Email != want {
			t.Fatalf("payload %d decoded to %+v, %v; want %s", i, got, err, want)
		}
	}
	// Once A is dropped, its payloads are a clear error.
	if _, err := codec(t, b).Decode(old); err == nil || !strings.Contains(err.Error(), `"A"`) {
		t.Fatalf("decode under a dropped key: %v, want an error naming key id A", err)
	}
}

// Histories written before encryption was turned on still read.
func TestPlaintextPayloadsPassDecodeUnchanged(t *testing.T) {
	p := plainPayload(t, input{Email: "legacy@example.com"})
	for range 2 {
		out, err := codec(t, key(t, "k", 1)).Decode([]*commonpb.Payload{p})
		if err != nil {
			t.Fatal(err)
		}
		if out[0] != p {
			t.Fatalf("plaintext payload changed by decode: %v", out[0])
		}
	}
}

func TestTamperedCiphertextFails(t *testing.T) {
	c := codec(t, key(t, "k", 1))
	enc, err := c.Encode([]*commonpb.Payload{plainPayload(t, input{Email: "x@example.com"})})
	if err != nil {
		t.Fatal(err)
	}
	for name, tamper := range map[string]func(p *commonpb.Payload){
		"flipped byte": func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"truncated":    func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		// The id is authenticated: relabelling fails even if the new id
		// holds the same key bytes.
		"relabelled": func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") },
	} {
		p := &commonpb.Payload{Metadata: map[string][]byte{}, Data: append([]byte(nil), enc[0].Data...)}
		for k, v := range enc[0].Metadata {
			p.Metadata[k] = v
		}
		tamper(p)
		both := codec(t, key(t, "k", 1), key(t, "k2", 1))
		if out, err := both.Decode([]*commonpb.Payload{p}); err == nil {
			t.Errorf("%s: decoded to %v, want an error", name, out)
		}
	}
}

func TestUnknownKeyIDIsAnErrorNamingIt(t *testing.T) {
	enc, err := codec(t, key(t, "retired-2025", 1)).Encode([]*commonpb.Payload{plainPayload(t, "x")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := codec(t, key(t, "current", 2)).Decode(enc)
	if err == nil || !strings.Contains(err.Error(), `"retired-2025"`) {
		t.Fatalf("decode with an unknown key id: %v, %v; want an error naming retired-2025", out, err)
	}
	if out != nil {
		t.Fatalf("decode passed ciphertext on: %v", out)
	}
}

// /encode may be handed a payload that is encrypted already: it stays as
// it is, so it still decodes in one step.
func TestEncodeLeavesEncryptedPayloadsAlone(t *testing.T) {
	c := codec(t, key(t, "k", 1))
	once, err := c.Encode([]*commonpb.Payload{plainPayload(t, input{Email: "x@example.com"})})
	if err != nil {
		t.Fatal(err)
	}
	twice, err := c.Encode(once)
	if err != nil {
		t.Fatal(err)
	}
	if twice[0] != once[0] {
		t.Fatal("an encrypted payload was encrypted again")
	}
	dec, err := c.Decode(twice)
	if err != nil {
		t.Fatal(err)
	}
	var got input
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &got); err != nil || got.Email != "x@example.com" {
		t.Fatalf("decoded %+v, %v", got, err)
	}
}

func TestParseKeys(t *testing.T) {
	b64 := func(n int, fill byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, n)) }
	keys, err := ParseKeys(" new:" + b64(32, 2) + " , old:" + b64(32, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != "new" || keys[1].ID != "old" {
		t.Fatalf("parsed %v", keys)
	}
	for _, s := range []string{"", "  "} {
		if keys, err := ParseKeys(s); err != nil || keys != nil {
			t.Fatalf("ParseKeys(%q) = %v, %v; want no keys", s, keys, err)
		}
	}
	secret := b64(32, 7)
	for _, c := range []struct{ in, want string }{
		{"k:not*base64!", `key "k" is not standard base64`},
		{"k:" + b64(16, 1), `key "k" is 16 bytes, want 32`},
		{"k:" + b64(33, 1), `key "k" is 33 bytes, want 32`},
		{"k:" + secret + ",k:" + b64(32, 1), `key id "k" appears twice`},
		{":" + secret, "entry 1 has no key id"},
		{"k:" + b64(32, 1) + "," + secret, "entry 2 has no key id"},
		{"k:" + b64(32, 1) + ",", "entry 2 has no key id"},
		{"bad id:" + secret, `key id "bad id"`},
	} {
		_, err := ParseKeys(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKeys(%q): %v, want %q", c.in, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows a key: %v", err)
		}
	}
}

// A key printed by accident (a logged config) shows its id only.
func TestKeysNeverPrint(t *testing.T) {
	raw := bytes.Repeat([]byte{'Z'}, KeySize)
	k, err := NewKey("k", raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{k, []Key{k}, struct{ Keys []Key }{[]Key{k}}} {
			if s := fmt.Sprintf(format, v); strings.Contains(s, string(raw)) || strings.Contains(s, "90, 90") || strings.Contains(s, base64.StdEncoding.EncodeToString(raw)) {
				t.Errorf("%s of %T shows the key: %s", format, v, s)
			}
		}
	}
}

func TestNewNeedsKeys(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Fatal("a codec without keys was built")
	}
}
