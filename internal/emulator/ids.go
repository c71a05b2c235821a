package emulator

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// newUUID returns a random RFC 4122 version 4 UUID, the format of
// Intercom's request_id.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newObjectID returns a 24-hex id shaped like Intercom's contact and company
// ids (MongoDB ObjectIds: 4 bytes of creation time, then random bytes).
func newObjectID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix()))
	_, _ = rand.Read(b[4:])
	return hex.EncodeToString(b[:])
}

// uniqueObjectID draws ids until one is unused; collisions need 8 equal
// random bytes, so the loop practically never repeats.
func uniqueObjectID(now time.Time, taken func(string) bool) string {
	for {
		id := newObjectID(now)
		if !taken(id) {
			return id
		}
	}
}

func numericID(n int64) string { return strconv.FormatInt(n, 10) }
