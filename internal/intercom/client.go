// Package intercom is a small client for the parts of Intercom's REST API
// 2.11 the sync uses. Errors are typed (see Kind) so callers can tell a
// rate limit, a conflict, a missing resource and a bad request apart, and
// requests pace themselves on Intercom's X-RateLimit-* headers.
package intercom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Version is the Intercom API version every request asks for.
const Version = "2.11"

// Client calls Intercom. It is safe for concurrent use.
type Client struct {
	baseURL string
	token   string
	http    *http.Client
	pacer   *pacer
	// patience, if set, makes calls retry before they return an error
	// (see Patient).
	patience    *Patience
	observe     func(method, pathTemplate string, status int, took time.Duration)
	observeWait func(time.Duration)
}

// Options configures a Client.
type Options struct {
	BaseURL string // default https://api.intercom.io
	Token   string
	Timeout time.Duration // per call; default 20s
	// Transport, if set, replaces http.DefaultTransport (tests validate
	// requests against the OpenAPI description this way).
	Transport http.RoundTripper
	// Observe, if set, is called after every call (for metrics); status
	// is 0 when no answer came.
	Observe func(method, pathTemplate string, status int, took time.Duration)
	// ObserveWait, if set, is called when a call waited for the
	// rate-limit window.
	ObserveWait func(time.Duration)
}

// New returns a Client.
func New(o Options) *Client {
	if o.BaseURL == "" {
		o.BaseURL = "https://api.intercom.io"
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	return &Client{
		baseURL: o.BaseURL,
		token:   o.Token,
		http:    &http.Client{Timeout: o.Timeout, Transport: o.Transport},
		pacer:   newPacer(),

		observe:     o.Observe,
		observeWait: o.ObserveWait,
	}
}

// Fields is a JSON object body. A map keeps "send null to clear" and "leave
// out to keep" both expressible, and marshals with sorted keys, so the same
// fields always hash the same.
type Fields map[string]any

// do sends a request; a patient client repeats it as its Patience allows.
func (c *Client) do(ctx context.Context, method, pathTemplate, path string, body any, out any) error {
	if c.patience == nil {
		return c.doOnce(ctx, method, pathTemplate, path, body, out)
	}
	failures, backoff := 0, c.patience.Backoff
	for {
		err := c.doOnce(ctx, method, pathTemplate, path, body, out)
		if err == nil || ctx.Err() != nil {
			return err
		}
		var wait time.Duration
		var ie *Error
		switch {
		case errors.As(err, &ie) && ie.Kind() == KindRateLimited:
			// The pacer has seen Remaining: 0 too, so this process's
			// other calls hold back until the reset as well.
			wait = max(time.Until(ie.ResetAt), minRateLimitWait)
		case errors.As(err, &ie) && !ie.Kind().Retryable():
			return err // a 4xx: sending it again changes nothing
		default: // 5xx, 408, network error or timeout
			if failures >= c.patience.Retries {
				return err
			}
			failures++
			wait, backoff = backoff, min(2*backoff, c.patience.MaxBackoff)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// doOnce sends one request. pathTemplate
// names the endpoint for metrics ("/contacts/{id}"); path is the concrete
// path with query.
func (c *Client) doOnce(ctx context.Context, method, pathTemplate, path string, body any, out any) error {
	waited, err := c.pacer.wait(ctx)
	if waited > 0 && c.observeWait != nil {
		c.observeWait(waited)
	}
	if err != nil {
		return err
	}
	var rdr io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, pathTemplate, err)
		}
		rdr = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rdr)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Intercom-Version", Version)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if c.observe != nil {
			c.observe(method, pathTemplate, 0, time.Since(start))
		}
		// Network errors and timeouts: the caller retries.
		return fmt.Errorf("intercom %s %s: %w", method, pathTemplate, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if c.observe != nil {
		c.observe(method, pathTemplate, resp.StatusCode, time.Since(start))
	}
	c.pacer.observe(resp)
	if err != nil {
		return fmt.Errorf("intercom %s %s: read body: %w", method, pathTemplate, err)
	}
	if resp.StatusCode >= 300 {
		return parseError(method, pathTemplate, resp, respBody)
	}
	if out != nil {
		if err := json.Unmarshal(respBody, out); err != nil {
			return fmt.Errorf("intercom %s %s: decode response: %w", method, pathTemplate, err)
		}
	}
	return nil
}

type errorList struct {
	Type      string  `json:"type"`
	RequestID *string `json:"request_id"`
	Errors    []struct {
		Code    string  `json:"code"`
		Message *string `json:"message"`
	} `json:"errors"`
}

func parseError(method, path string, resp *http.Response, body []byte) error {
	e := &Error{Method: method, Path: path, StatusCode: resp.StatusCode}
	var el errorList
	if json.Unmarshal(body, &el) == nil && len(el.Errors) > 0 {
		e.Code = el.Errors[0].Code
		if el.Errors[0].Message != nil {
			e.Message = *el.Errors[0].Message
		}
		if el.RequestID != nil {
			e.RequestID = *el.RequestID
		}
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if reset := resetTime(resp.Header); !reset.IsZero() {
		e.ResetAt = reset
	}
	return e
}

// resetTime parses X-RateLimit-Reset (Unix seconds).
func resetTime(h http.Header) time.Time {
	v := h.Get("X-RateLimit-Reset")
	if v == "" {
		return time.Time{}
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(secs, 0)
}
