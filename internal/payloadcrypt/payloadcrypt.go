// Package payloadcrypt encrypts Temporal payloads with AES-256-GCM, so
// the personal data that workflows carry (emails, names) is never readable
// in Temporal's history, to Temporal's operators or its database.
//
// It is a converter.PayloadCodec: the client and the workers wrap their
// data converter with it (DataConverter), and the codec server (api,
// /codec) runs it for the Temporal UI and CLI. Search attributes do not go
// through a codec; internal/searchattr keeps them free of personal data.
//
// Keys come from PAYLOAD_ENCRYPTION_KEYS, "id:base64-of-32-bytes,…": the
// first key encrypts, every key decrypts, so a key is rotated by putting
// the new one first and dropping the old one once no open history needs it.
package payloadcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// EncodingEncrypted is the metadata "encoding" of an encrypted payload
	// (the name Temporal's encryption sample uses, which the UI shows).
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
	// KeySize is the length of an AES-256 key, in bytes.
	KeySize = 32
)

// Key is one named AES-256 key. Its bytes are unexported and it prints as
// its id only, so a logged configuration never shows key material.
type Key struct {
	ID  string
	key []byte
}

// NewKey makes a key from raw bytes (tests; production parses ParseKeys).
func NewKey(id string, raw []byte) (Key, error) {
	if !validID.MatchString(id) {
		return Key{}, fmt.Errorf("key id %q: want letters, digits, '.', '_' or '-'", id)
	}
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("key %q is %d bytes, want %d", id, len(raw), KeySize)
	}
	return Key{ID: id, key: append([]byte(nil), raw...)}, nil
}

// String shows the id, never the key.
func (k Key) String() string { return k.ID + ":<redacted>" }

// GoString keeps %#v from printing the key too.
func (k Key) GoString() string { return k.String() }

// validID keeps ids plain: they travel in payload metadata and error
// messages.
var validID = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// ParseKeys reads "id:base64,id:base64,…" (standard base64 of 32 bytes,
// e.g. `openssl rand -base64 32`). Empty means no keys: encryption off.
// Errors name the key id or position, never the key's text.
func ParseKeys(s string) ([]Key, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var keys []Key
	seen := map[string]bool{}
	for i, entry := range strings.Split(s, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return nil, fmt.Errorf("entry %d has no key id: want id:base64-of-32-bytes", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("key id %q appears twice", id)
		}
		seen[id] = true
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			// The decoder's error quotes no input, but say it plainly.
			return nil, fmt.Errorf("key %q is not standard base64", id)
		}
		k, err := NewKey(id, raw)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Codec encrypts with the first key and decrypts with any of them.
type Codec struct {
	encryptWith string
	aeads       map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds the codec of keys; it needs at least one.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("payloadcrypt: no keys")
	}
	c := &Codec{encryptWith: keys[0].ID, aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("payloadcrypt: key id %q appears twice", k.ID)
		}
		block, err := aes.NewCipher(k.key)
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// EncryptionKeyID is the id of the key new payloads are encrypted with.
func (c *Codec) EncryptionKeyID() string { return c.encryptWith }

// DataConverter is Temporal's default data converter with the codec
// around it: what the client and the workers use. Payloads written before
// encryption was turned on still decode (Decode passes them through).
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// Encode encrypts each payload whole (data and metadata, so not even its
// type shows). A payload that is already encrypted is left as it is: the
// codec server's /encode may be handed one, and wrapping it twice would
// hide it behind a key id it never had.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.encryptWith]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if encrypted(p) {
			out[i] = p
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: marshal payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("payloadcrypt: nonce: %w", err)
		}
		// The key id is authenticated data: a payload relabelled with
		// another id fails to open instead of decrypting under it.
		sealed := aead.Seal(nonce, nonce, plain, []byte(c.encryptWith))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.encryptWith),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode decrypts the encrypted payloads and passes the others through
// unchanged: histories written before encryption was turned on still
// read. An encrypted payload it cannot open is an error, never passed on
// as ciphertext.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !encrypted(p) {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("payloadcrypt: payload encrypted with key id %q, which PAYLOAD_ENCRYPTION_KEYS does not hold", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, fmt.Errorf("payloadcrypt: payload of key id %q is too short to be ciphertext", id)
		}
		nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, []byte(id))
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: payload of key id %q does not authenticate (tampered, or another key of that id)", id)
		}
		decoded := &commonpb.Payload{}
		if err := proto.Unmarshal(plain, decoded); err != nil {
			return nil, fmt.Errorf("payloadcrypt: payload of key id %q: %w", id, err)
		}
		out[i] = decoded
	}
	return out, nil
}

func encrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == EncodingEncrypted
}
