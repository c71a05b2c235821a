package intercom

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func serve(t *testing.T, h http.HandlerFunc) *Client {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return New(Options{BaseURL: srv.URL, Token: "tok", Timeout: 2 * time.Second})
}

func TestRequestHeaders(t *testing.T) {
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Intercom-Version") != "2.11" ||
			r.Header.Get("Accept") != "application/json" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"type":"error.list","errors":[{"code":"bad","message":"headers %v"}]}`, r.Header)
			return
		}
		fmt.Fprint(w, `{"type":"contact","id":"c1","role":"user"}`)
	})
	got, err := c.CreateContact(context.Background(), Fields{"role": "user", "external_id": "u"})
	if err != nil || got.ID != "c1" {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestErrorsAreTyped(t *testing.T) {
	reset := time.Now().Add(5 * time.Second).Unix()
	cases := []struct {
		status   int
		body     string
		kind     Kind
		existing string
		message  string
	}{
		{409, `{"type":"error.list","request_id":"r1","errors":[{"code":"conflict","message":"A contact matching those details already exists with id=5da6f18e3d7cf967e4582d05"}]}`,
			KindConflict, "5da6f18e3d7cf967e4582d05", "A contact matching those details already exists with id=5da6f18e3d7cf967e4582d05"},
		{409, `{"type":"error.list","errors":[{"code":"conflict","message":"An archived contact matching those details already exists with id=6a0000000000000000000001"}]}`,
			KindConflict, "6a0000000000000000000001", ""},
		{404, `{"type":"error.list","errors":[{"code":"not_found","message":"User Not Found"}]}`, KindNotFound, "", "User Not Found"},
		{429, `{"type":"error.list","errors":[{"code":"rate_limit_exceeded","message":"Exceeded rate limit of 167 in 10_seconds"}]}`, KindRateLimited, "", ""},
		{500, `<html>oops</html>`, KindServer, "", "Internal Server Error"},
		{401, `{"type":"error.list","errors":[{"code":"unauthorized","message":"Access Token Invalid"}]}`, KindAuth, "", "Access Token Invalid"},
		{400, `{"type":"error.list","errors":[{"code":"parameter_invalid","message":"bad 'x' parameter"}]}`, KindClient, "", "bad 'x' parameter"},
	}
	for _, tc := range cases {
		c := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
			w.WriteHeader(tc.status)
			fmt.Fprint(w, tc.body)
		})
		_, err := c.CreateContact(context.Background(), Fields{"role": "user"})
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("%d: err = %T %v, want *Error", tc.status, err, err)
		}
		if e.Kind() != tc.kind || e.StatusCode != tc.status {
			t.Errorf("%d: kind %v, want %v", tc.status, e.Kind(), tc.kind)
		}
		if id, conflict := ConflictID(err); conflict != (tc.kind == KindConflict) || id != tc.existing {
			t.Errorf("%d: ConflictID = %q %v, want %q", tc.status, id, conflict, tc.existing)
		}
		if tc.message != "" && e.Message != tc.message {
			t.Errorf("%d: message %q, want %q", tc.status, e.Message, tc.message)
		}
		if tc.kind == KindRateLimited && e.ResetAt.Unix() != reset {
			t.Errorf("429 reset = %v, want %d", e.ResetAt, reset)
		}
	}
}

func TestTimeoutIsAPlainRetryableError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, Token: "t", Timeout: 50 * time.Millisecond})
	_, err := c.GetContact(context.Background(), "x")
	if err == nil {
		t.Fatal("no error")
	}
	if _, typed := KindOf(err); typed {
		t.Fatalf("timeout classified as an Intercom answer: %v", err)
	}
}

func TestGetCompanyByCompanyIDAcceptsBothShapes(t *testing.T) {
	for name, body := range map[string]string{
		"single": `{"type":"company","id":"i1","company_id":"org_1","name":"A"}`,
		"list":   `{"type":"list","data":[{"type":"company","id":"i1","company_id":"org_1","name":"A"}],"total_count":1}`,
	} {
		c := serve(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("company_id") != "org_1" {
				w.WriteHeader(404)
				fmt.Fprint(w, `{"type":"error.list","errors":[{"code":"company_not_found","message":"Company Not Found"}]}`)
				return
			}
			fmt.Fprint(w, body)
		})
		co, err := c.GetCompanyByCompanyID(context.Background(), "org_1")
		if err != nil || co == nil || co.ID != "i1" {
			t.Fatalf("%s: %+v %v", name, co, err)
		}
		if co, err := c.GetCompanyByCompanyID(context.Background(), "org_2"); err != nil || co != nil {
			t.Fatalf("%s missing: %+v %v, want nil, nil", name, co, err)
		}
	}
}

// When the window is spent, the next call waits for X-RateLimit-Reset
// instead of earning a 429.
func TestPacerWaitsForTheWindowReset(t *testing.T) {
	var calls atomic.Int32
	var secondAt atomic.Int64
	reset := time.Now().Add(1200 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n == 2 {
			secondAt.Store(time.Now().UnixNano())
		}
		w.Header().Set("X-RateLimit-Limit", "10")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		fmt.Fprint(w, `{"type":"contact","id":"c"}`)
	})
	if _, err := c.GetContact(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetContact(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	if at := time.Unix(0, secondAt.Load()); at.Before(reset) {
		t.Fatalf("second call at %s, before the reset %s", at.Format(time.StampMilli), reset.Format(time.StampMilli))
	}
}

func TestPacerSpreadsTheLastCallsOfAWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	p := newPacer()
	p.now = func() time.Time { return now }
	resp := &http.Response{Header: http.Header{}}
	resp.Header.Set("X-RateLimit-Limit", "100")
	resp.Header.Set("X-RateLimit-Reset", "1010")
	resp.Header.Set("X-RateLimit-Remaining", "50")
	p.observe(resp)
	if d := p.delay(); d != 0 {
		t.Fatalf("half a window left: delay %s, want none", d)
	}
	resp.Header.Set("X-RateLimit-Remaining", "4")
	p.observe(resp)
	if d := p.delay(); d <= 0 || d > 10*time.Second/4 {
		t.Fatalf("4 of 100 left with 10 s to go: delay %s, want a share of the rest", d)
	}
	// A new window resets the count.
	now = time.Unix(1011, 0)
	if d := p.delay(); d != 0 {
		t.Fatalf("after the reset: delay %s", d)
	}
}
