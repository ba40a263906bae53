package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/oktawatch/oktawatch/internal/simulate"
)

// groupPlaceholder is the group id in a template. It has the length of a
// real Okta id, 20 characters, as do the ids written over it.
const groupPlaceholder = "00gBENCHPLACEHOLDER0"

// runSalt makes this run's ids differ from an earlier run's on the same
// Redis.
var runSalt = uint32(time.Now().UnixNano())

// bodyTemplate makes hook bodies with fresh event uuids and a fresh group
// per request: every removal is new, and no group gets near the threshold.
// It rewrites ids in place in a copy of one simulated delivery, so making a
// body costs the bench far less than the server spends on it.
type bodyTemplate struct {
	base    []byte
	events  int
	groupAt []int
	uuidAt  []int
	count   atomic.Uint64
}

func newBodyTemplate(events int) (*bodyTemplate, error) {
	base, err := simulate.Delivery(simulate.Options{
		GroupID: groupPlaceholder, GroupName: "Bench-Group", Count: events,
		Published: time.Now().UTC().Add(-time.Duration(events) * 10 * time.Millisecond), Spacing: 10 * time.Millisecond,
		ActorLogin: "bench.admin@example.com",
	})
	if err != nil {
		return nil, err
	}
	t := &bodyTemplate{base: base, events: events, groupAt: indexAll(base, []byte(groupPlaceholder))}

	var parsed struct {
		Data struct {
			Events []struct {
				UUID string `json:"uuid"`
			} `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal(base, &parsed); err != nil {
		return nil, fmt.Errorf("parse simulated delivery: %w", err)
	}
	for _, e := range parsed.Data.Events {
		at := bytes.Index(base, []byte(`"`+e.UUID+`"`))
		if len(e.UUID) != 36 || at < 0 {
			return nil, fmt.Errorf("simulated event uuid %q is not a 36-character uuid in the body", e.UUID)
		}
		t.uuidAt = append(t.uuidAt, at+1)
	}
	return t, nil
}

// next returns a new body. It is safe for concurrent use.
func (t *bodyTemplate) next() []byte {
	n := t.count.Add(1)
	b := bytes.Clone(t.base)
	for _, at := range t.groupAt {
		putHex(b[at+4:at+20], uint64(runSalt)<<32|n) // "00gB" + 16 hex digits
	}
	for i, at := range t.uuidAt {
		putHex(b[at:at+8], uint64(runSalt))
		copy(b[at+8:at+24], "-0000-4000-8000-")
		putHex(b[at+24:at+36], n*uint64(t.events)+uint64(i))
	}
	return b
}

// putHex writes the low digits of v in hexadecimal over all of dst.
func putHex(dst []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = digits[v&0xf]
		v >>= 4
	}
}

func indexAll(s, sep []byte) []int {
	var at []int
	for offset := 0; ; {
		i := bytes.Index(s[offset:], sep)
		if i < 0 {
			return at
		}
		at = append(at, offset+i)
		offset += i + len(sep)
	}
}
