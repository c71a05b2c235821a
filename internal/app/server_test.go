package app_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/app"
	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// The server carries the documented limits (README, config.Keys).
func TestHTTPServerHasLimits(t *testing.T) {
	srv := app.HTTPServer(config.Defaults(), ":0", http.NotFoundHandler())
	if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != 30*time.Second ||
		srv.WriteTimeout != 30*time.Second || srv.IdleTimeout != 120*time.Second || srv.MaxHeaderBytes != 64<<10 {
		t.Fatalf("server limits: header %s, read %s, write %s, idle %s, max header %d bytes",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
}

// A client that trickles its body is cut off once HTTP_READ_TIMEOUT is
// spent (30 s by default; 500 ms here), on a real listener with the
// service's own handler: it gets no 2xx, and the connection does not stay
// held open by it.
func TestTricklingBodyIsCutOff(t *testing.T) {
	cfg := productionConfig(t)
	cfg.HTTPReadTimeout = 500 * time.Millisecond
	a, err := app.New(t.Context(), cfg, testenv.Logger(t), app.Parts{API: true}, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h, err := a.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := app.HTTPServer(cfg, ln.Addr().String(), h)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	const length = 4096
	if _, err := fmt.Fprintf(conn, "POST /webhooks/clerk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", length); err != nil {
		t.Fatal(err)
	}
	// One byte every 50 ms: the whole body would take over 3 minutes.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()

	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	took := time.Since(start)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("still connected after %s: the trickling body was not cut off", took)
	}
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("a trickled, unfinished body was answered %d", resp.StatusCode)
		}
	}
	if took > 3*time.Second || took < cfg.HTTPReadTimeout-100*time.Millisecond {
		t.Fatalf("cut off after %s, want about HTTP_READ_TIMEOUT (%s)", took, cfg.HTTPReadTimeout)
	}
	// The server closes the connection: nothing more is read from it.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(conn).ReadByte(); err == nil || (errors.As(err, &netErr) && netErr.Timeout()) {
		t.Fatalf("the connection stays open after the cut-off: %v", err)
	}
}
