package intercom

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// scripted answers call i with statuses[i] (the last one from then on).
func scripted(t *testing.T, calls *atomic.Int32, statuses ...int) *Client {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		i := min(int(calls.Add(1))-1, len(statuses)-1)
		status := statuses[i]
		if status == 429 {
			// The window resets within the next second.
			w.Header().Set("X-RateLimit-Limit", "10")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))
		}
		w.WriteHeader(status)
		if status >= 300 {
			fmt.Fprintf(w, `{"type":"error.list","errors":[{"code":"x","message":"status %d"}]}`, status)
			return
		}
		fmt.Fprint(w, `{"type":"contact","id":"c1","role":"user"}`)
	})
}

func TestPatientCallsWaitOutRateLimitsAndRetryServerErrors(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 429, 500, 429, 502, 200)
	var retries []string
	ctx := WithPatience(context.Background(), Patience{Retries: 2, Backoff: 10 * time.Millisecond,
		OnRetry: func(err error, _ time.Duration) { retries = append(retries, err.Error()) }})
	start := time.Now()
	got, err := c.GetContact(ctx, "c1")
	if err != nil || got.ID != "c1" {
		t.Fatalf("patient call = %+v, %v", got, err)
	}
	// Two 429s (not counted against Retries) and two 5xx (both allowed).
	if calls.Load() != 5 || len(retries) != 4 {
		t.Fatalf("%d calls, retries %v", calls.Load(), retries)
	}
	if time.Since(start) < minRateLimitWait {
		t.Fatalf("took %s: the 429s were not waited out", time.Since(start))
	}
}

func TestPatientCallsGiveUpAfterTheirRetries(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 500)
	ctx := WithPatience(context.Background(), Patience{Retries: 2, Backoff: time.Millisecond})
	_, err := c.GetContact(ctx, "c1")
	if k, _ := KindOf(err); k != KindServer || calls.Load() != 3 {
		t.Fatalf("after %d calls: %v, want the 500 after 1 + 2 retries", calls.Load(), err)
	}
}

func TestPatientCallsDoNotRepeatClientErrors(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 404, 200)
	ctx := WithPatience(context.Background(), Patience{Retries: 5, Backoff: time.Millisecond})
	if _, err := c.GetContact(ctx, "c1"); !IsNotFound(err) || calls.Load() != 1 {
		t.Fatalf("after %d calls: %v, want the 404 at once", calls.Load(), err)
	}
}

func TestImpatientCallsReturnRateLimitsAtOnce(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 429, 200)
	_, err := c.GetContact(context.Background(), "c1")
	if k, _ := KindOf(err); k != KindRateLimited || calls.Load() != 1 {
		t.Fatalf("after %d calls: %v, want the 429 returned (the activity's retry policy waits)", calls.Load(), err)
	}
}

func TestPatientCallsStopWithTheirContext(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 500)
	ctx, cancel := context.WithTimeout(WithPatience(context.Background(), Patience{Retries: 100, Backoff: time.Hour}), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.GetContact(ctx, "c1"); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("patient call with a deadline: %v after %s", err, time.Since(start))
	}
}
