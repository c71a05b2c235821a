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
	var answered []int
	c.observe = func(_, _ string, status int, _ time.Duration) { answered = append(answered, status) }
	start := time.Now()
	got, err := c.Patient(Patience{Retries: 2, Backoff: 10 * time.Millisecond}).GetContact(context.Background(), "c1")
	if err != nil || got.ID != "c1" {
		t.Fatalf("patient call = %+v, %v", got, err)
	}
	// Two 429s (not counted against Retries) and two 5xx (both allowed).
	if calls.Load() != 5 || fmt.Sprint(answered) != "[429 500 429 502 200]" {
		t.Fatalf("%d calls, answered %v", calls.Load(), answered)
	}
	if time.Since(start) < minRateLimitWait {
		t.Fatalf("took %s: the 429s were not waited out", time.Since(start))
	}
}

func TestPatientCallsGiveUpAfterTheirRetries(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 500)
	_, err := c.Patient(Patience{Retries: 2, Backoff: time.Millisecond}).GetContact(context.Background(), "c1")
	if k, _ := KindOf(err); k != KindServer || calls.Load() != 3 {
		t.Fatalf("after %d calls: %v, want the 500 after 1 + 2 retries", calls.Load(), err)
	}
}

func TestPatientCallsDoNotRepeatClientErrors(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 404, 200)
	if _, err := c.Patient(Patience{Retries: 5, Backoff: time.Millisecond}).GetContact(context.Background(), "c1"); !IsNotFound(err) || calls.Load() != 1 {
		t.Fatalf("after %d calls: %v, want the 404 at once", calls.Load(), err)
	}
}

func TestImpatientCallsReturnRateLimitsAtOnce(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 429, 200)
	_ = c.Patient(Patience{Retries: 5}) // a patient copy leaves c as it was
	_, err := c.GetContact(context.Background(), "c1")
	if k, _ := KindOf(err); k != KindRateLimited || calls.Load() != 1 {
		t.Fatalf("after %d calls: %v, want the 429 returned (the activity's retry policy waits)", calls.Load(), err)
	}
}

func TestPatientCallsStopWithTheirContext(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 500)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Patient(Patience{Retries: 100, Backoff: time.Hour}).GetContact(ctx, "c1"); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("patient call with a deadline: %v after %s", err, time.Since(start))
	}
}

func TestPatientCallsRetryRequestTimeouts(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 408, 408, 200)
	got, err := c.Patient(Patience{Retries: 2, Backoff: time.Millisecond}).GetContact(context.Background(), "c1")
	if err != nil || got.ID != "c1" || calls.Load() != 3 {
		t.Fatalf("after %d calls: %+v, %v; want the 408s retried, then the contact", calls.Load(), got, err)
	}
}

func TestImpatientCallsReturnRequestTimeoutsAsRetryable(t *testing.T) {
	var calls atomic.Int32
	c := scripted(t, &calls, 408, 200)
	_, err := c.GetContact(context.Background(), "c1")
	k, ok := KindOf(err)
	if !ok || k != KindServer || !k.Retryable() || calls.Load() != 1 {
		t.Fatalf("after %d calls: %v (kind %v), want the 408 returned once as a retryable kind", calls.Load(), err, k)
	}
}

func TestOnlyTransientKindsAreRetryable(t *testing.T) {
	for status, want := range map[int]bool{408: true, 429: true, 500: true, 503: true, 400: false, 401: false, 404: false, 409: false, 422: false} {
		if got := (&Error{StatusCode: status}).Kind().Retryable(); got != want {
			t.Errorf("%d retryable = %v, want %v", status, got, want)
		}
	}
}
