package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// switchProxy forwards TCP to target while up; while down it refuses new
// connections and cuts open ones — Temporal "going away" as the API sees it.
type switchProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  []net.Conn
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.set(false) })
	go p.serve()
	return p
}

func (p *switchProxy) addr() string { return p.ln.Addr().String() }

func (p *switchProxy) set(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

func (p *switchProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if !p.up {
			p.mu.Unlock()
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			in.Close()
			continue
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// While Temporal is unreachable the webhook answers 503 (so Svix retries)
// within the start timeout; when it is back, the same process accepts
// events again — no restart.
func TestTemporalOutageAnswers503ThenRecovers(t *testing.T) {
	t.Parallel()
	proxy := newSwitchProxy(t, testenv.TemporalAddress(t))
	apiClient, err := client.NewLazyClient(client.Options{HostPort: proxy.addr(), Namespace: testenv.TemporalNamespace(),
		Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(apiClient.Close)
	s := newStack(t, stackOptions{temporal: apiClient})
	user := clerksim.User{ID: s.id("user", "outage"), Email: "o@example.com", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	body := clerksim.UserEvent(clerk.UserCreated, user)

	post := func() int {
		resp, err := s.sender.Send(context.Background(), s.prefix+"outage", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	start := time.Now()
	if code := post(); code != http.StatusServiceUnavailable {
		t.Fatalf("with Temporal down: %d, want 503", code)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("503 took %s, want within 10 s", took)
	}

	recover := func() {
		t.Helper()
		proxy.set(true)
		back := time.Now()
		deadline := back.Add(45 * time.Second)
		for {
			code := post()
			if code == http.StatusOK {
				break
			}
			if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("after Temporal came back: %d (still failing at the deadline?)", code)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("accepted again %s after Temporal came back", time.Since(back).Round(time.Millisecond))
	}
	recover()
	s.waitIdle(idle, workflows.UserWorkflowID(user.ID))
	s.contact(user.ID)

	// Again with an established connection cut mid-life.
	proxy.set(false)
	start = time.Now()
	if code := post(); code != http.StatusServiceUnavailable {
		t.Fatalf("after the connection was cut: %d, want 503", code)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("503 took %s, want within 10 s", took)
	}
	recover()
}
