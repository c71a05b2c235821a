package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
)

// rawClient makes the few calls internal/intercom does not offer (or
// whose answer headers doctor needs), with the client's conventions: the
// same base URL, bearer token and Intercom-Version header.
type rawClient struct {
	base, token string
	http        *http.Client
}

// rawAnswer is a response read whole.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

// errorCode is the first error's code and message of an error.list body.
func (a *rawAnswer) errorCode() (code, message string) {
	var el struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(a.body, &el) == nil && len(el.Errors) > 0 {
		return el.Errors[0].Code, el.Errors[0].Message
	}
	return "", http.StatusText(a.status)
}

// describe is "401 unauthorized: Access Token Invalid".
func (a *rawAnswer) describe() string {
	code, msg := a.errorCode()
	s := strconv.Itoa(a.status)
	if code != "" {
		s += " " + code
	}
	if msg != "" {
		s += ": " + msg
	}
	return s
}

func (c *rawClient) get(ctx context.Context, path string) (*rawAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Intercom-Version", intercom.Version)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	return &rawAnswer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// meInfo is what GET /me said, minus personal data (the admin's name and
// email are never kept).
type meInfo struct {
	adminID     string
	workspaceID string
	appName     string
	region      string
	header      http.Header
	at          time.Time
}

// host is the base URL without path or credentials, for messages.
func (d *doctor) host() string {
	u, err := url.Parse(d.raw.base)
	if err != nil || u.Host == "" {
		return "INTERCOM_API_BASE_URL"
	}
	return u.Scheme + "://" + u.Host
}

const tokenAssumption = "INTERCOM_ACCESS_TOKEN works"

func (d *doctor) checkToken(ctx context.Context) {
	const service = "sends it on every call; a 401/403 fails the sync, unretried"
	c := Check{ID: "token", Assumption: tokenAssumption, Service: service, Setting: "INTERCOM_ACCESS_TOKEN"}
	if d.cfg.IntercomAccessToken == "" {
		c.Status, c.Observed = Fail, "unset"
		c.Fix = "set INTERCOM_ACCESS_TOKEN to the access token of the workspace's Intercom app"
		d.report.add(c)
		return
	}
	ans, err := d.raw.get(ctx, "/me")
	if err != nil {
		c.Status, c.Observed = Fail, fmt.Sprintf("%s did not answer: %v", d.host(), err)
		c.Fix, c.Setting = "check INTERCOM_API_BASE_URL (EU: https://api.eu.intercom.io, AU: https://api.au.intercom.io)", "INTERCOM_API_BASE_URL"
		d.report.add(c)
		return
	}
	if ans.status != http.StatusOK {
		c.Status, c.Observed = Fail, fmt.Sprintf("%s answered %s", d.host(), ans.describe())
		c.Fix = "set INTERCOM_ACCESS_TOKEN to a valid access token of this workspace's app " +
			"(or INTERCOM_API_BASE_URL to the workspace's region)"
		d.report.add(c)
		return
	}
	var me struct {
		Type string      `json:"type"`
		ID   intercom.ID `json:"id"`
		App  *struct {
			IDCode string `json:"id_code"`
			Name   string `json:"name"`
			Region string `json:"region"`
		} `json:"app"`
	}
	if err := json.Unmarshal(ans.body, &me); err != nil || me.ID == "" {
		c.Status, c.Observed = Fail, fmt.Sprintf("%s answered 200 but not with an admin", d.host())
		c.Fix, c.Setting = "set INTERCOM_API_BASE_URL to Intercom's API", "INTERCOM_API_BASE_URL"
		d.report.add(c)
		return
	}
	d.me = &meInfo{adminID: string(me.ID), header: ans.header, at: time.Now()}
	if me.App != nil {
		d.me.workspaceID, d.me.appName, d.me.region = me.App.IDCode, me.App.Name, me.App.Region
	}
	c.Status = Pass
	c.Observed = fmt.Sprintf("GET /me: admin %s, workspace %s", d.me.adminID, d.me.workspaceID)
	if d.me.appName != "" {
		c.Observed += fmt.Sprintf(" %q", d.me.appName)
	}
	if d.me.region != "" {
		c.Observed += ", region " + d.me.region
	}
	c.Setting = ""
	c.Data = map[string]any{"admin_id": d.me.adminID, "workspace_id": d.me.workspaceID}
	d.report.add(c)

	// The version: the client asks for 2.11 on every call; Intercom may
	// say which version it answered with.
	v := Check{ID: "api_version", Assumption: "Intercom answers as API " + intercom.Version,
		Service: "asks for " + intercom.Version + " (Intercom-Version) on every call"}
	answered := ans.header.Get("Intercom-Version")
	if answered == "" {
		answered = ans.header.Get("X-Intercom-Version")
	}
	switch {
	case answered == "":
		v.Status, v.Observed = Pass, "the answer names no version"
	case answered == intercom.Version:
		v.Status, v.Observed = Pass, "answered as "+answered
	default:
		v.Status, v.Observed = Warn, "answered as "+answered+" although "+intercom.Version+" was asked for"
		v.Fix = "set the app's API version to " + intercom.Version + " in Intercom's Developer Hub"
	}
	v.Data = map[string]any{"answered": answered}
	d.report.add(v)
}

// checkRateLimit compares the X-RateLimit-* headers of GET /me with
// INTERCOM_RATE_LIMIT_PER_MINUTE.
func (d *doctor) checkRateLimit() {
	configured := d.cfg.IntercomRateLimitPerMinute
	c := Check{ID: "rate_limit", Setting: "INTERCOM_RATE_LIMIT_PER_MINUTE",
		Assumption: fmt.Sprintf("Intercom allows %d calls/min (INTERCOM_RATE_LIMIT_PER_MINUTE)", configured),
		Service:    "caps the fleet at that rate, paces on X-RateLimit-*, waits out a 429"}
	if d.me == nil {
		c.Status, c.Observed = Skip, "not checked: the token does not work"
		d.report.add(c)
		return
	}
	h := d.me.header
	limit, errL := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, errR := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, errS := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if errL != nil || errR != nil || errS != nil {
		c.Status = Warn
		c.Observed = "no X-RateLimit-Limit/-Remaining/-Reset headers"
		c.Service = "without them the client cannot pace itself; only the fleet-wide cap and 429 retries remain"
		c.Fix = "no setting; Intercom sends these headers on authenticated answers (a proxy may strip them)"
		c.Setting = ""
		d.report.add(c)
		return
	}
	// Intercom enforces the per-minute limit in 10-second windows and
	// X-RateLimit-Limit counts one window.
	perMinute := limit * 6
	in := time.Until(time.Unix(reset, 0)).Round(time.Second)
	c.Observed = fmt.Sprintf("Limit %d per 10 s (%d/min), Remaining %d, Reset in %s",
		limit, perMinute, remaining, in)
	c.Data = map[string]any{"limit": limit, "remaining": remaining, "reset": reset, "per_minute": perMinute,
		"configured_per_minute": configured}
	switch {
	case in < -time.Minute || in > 2*time.Minute:
		c.Status = Warn
		c.Observed += " (not a Unix time within the next minute)"
		c.Fix = "no setting; the client treats X-RateLimit-Reset as Unix seconds and will not pace on this value"
		c.Setting = ""
	case configured > perMinute:
		c.Status = Warn
		c.Fix = fmt.Sprintf("set INTERCOM_RATE_LIMIT_PER_MINUTE to at most %d (or ask Intercom for a higher limit); "+
			"above it the fleet runs into 429s", perMinute)
	default:
		c.Status = Pass
		if remaining < limit/2 {
			c.Observed += "; half the window was already used: other apps share the workspace's budget"
		}
	}
	d.report.add(c)
}

// checkAdmin looks INTERCOM_ADMIN_ID up.
func (d *doctor) checkAdmin(ctx context.Context) {
	id := d.cfg.IntercomAdminID
	c := Check{ID: "admin_id", Setting: "INTERCOM_ADMIN_ID",
		Assumption: "INTERCOM_ADMIN_ID is an admin of the workspace",
		Service:    "removes the re-sync tag as this admin (unset: the token's admin)"}
	if d.me == nil {
		c.Status, c.Observed = Skip, "not checked: the token does not work"
		d.report.add(c)
		return
	}
	fix := "set INTERCOM_ADMIN_ID to an existing admin's id (GET /admins), or leave it unset to use the token's admin " + d.me.adminID
	switch {
	case id == "":
		c.Status, c.Observed = Pass, "unset: the token's admin "+d.me.adminID+" will do"
		d.report.add(c)
		return
	case id == d.me.adminID:
		c.Status, c.Observed = Pass, id+" is the token's admin"
		d.report.add(c)
		return
	}
	ans, err := d.raw.get(ctx, "/admins/"+url.PathEscape(id))
	switch {
	case err != nil:
		c.Status, c.Observed = Warn, fmt.Sprintf("GET /admins/%s did not answer: %v", id, err)
		c.Fix = "run doctor again"
	case ans.status == http.StatusOK:
		var a struct {
			ID intercom.ID `json:"id"`
		}
		if json.Unmarshal(ans.body, &a) == nil && string(a.ID) == id {
			c.Status, c.Observed = Pass, "GET /admins/"+id+" found it"
		} else {
			c.Status, c.Observed, c.Fix = Fail, "GET /admins/"+id+" answered another admin", fix
		}
	case ans.status == http.StatusNotFound:
		c.Status, c.Observed, c.Fix = Fail, fmt.Sprintf("no admin %s: GET /admins/%s answered %s", id, id, ans.describe()), fix
	default:
		// 401/403: the token may lack the permission to read admins.
		c.Status = Warn
		c.Observed = fmt.Sprintf("could not check: GET /admins/%s answered %s", id, ans.describe())
		c.Fix = "give the app the 'Read admins' permission and run doctor again, or check " + id + " in Intercom's settings"
	}
	if c.Status == Fail {
		c.Service += "; Intercom refuses removals by an unknown admin"
	}
	c.Observed = strings.TrimSpace(c.Observed)
	d.report.add(c)
}
