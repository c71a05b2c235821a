package doctor

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/intercom-sync/intercom-sync/internal/config"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

// A default emulator holds every assumption but company created_at, and a
// read-only run writes nothing.
func TestReadOnlyDefaultWorkspace(t *testing.T) {
	w := newWorkspace(t, emulator.Options{RateLimitPerMinute: 1000}, nil)
	r := run(t, w.config(), false, 0)
	statuses := map[string]Status{
		"token": Pass, "api_version": Pass, "rate_limit": Pass, "admin_id": Pass,
		"environment_name": Pass, "secret.clerk": Pass, "secret.intercom_webhook": Pass, "secret.lookup_api": Pass,
		"search.in_150": Warn, "search.in_15": Pass, // strict: IN of more than 15 refused
		"lead.external_id": Skip, "search.lag": Skip,
	}
	for _, a := range ServiceAttributes {
		if id := "attribute." + a.Model + "." + a.Name; statuses[id] == "" {
			statuses[id] = Pass
		}
	}
	want(t, r, statuses)
	if len(r.Checks) != len(statuses) {
		t.Errorf("%d checks, want %d", len(r.Checks), len(statuses))
	}
	if r.Check("cleanup") != nil {
		t.Error("a read-only run reports a cleanup")
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err = %v, want every check passed", err)
	}
	tok := mustCheck(t, r, "token")
	if tok.Data["admin_id"] != emulator.AdminID || tok.Data["workspace_id"] != emulator.WorkspaceID ||
		!strings.Contains(tok.Observed, emulator.WorkspaceID) {
		t.Errorf("token row = %+v", tok)
	}
	rl := mustCheck(t, r, "rate_limit")
	if rl.Data["limit"] != 167 || rl.Data["per_minute"] != 1002 {
		t.Errorf("rate_limit row = %+v", rl)
	}
	st := w.em.Snapshot()
	if st.Counters.Writes != 0 || len(st.Contacts) != 0 {
		t.Errorf("a read-only run wrote: %d writes, %d contacts", st.Counters.Writes, len(st.Contacts))
	}
	if st.Counters.ByEndpoint["POST /contacts/search"] != 2 {
		t.Errorf("searches = %d, want the two IN searches", st.Counters.ByEndpoint["POST /contacts/search"])
	}
}

func TestWrongToken(t *testing.T) {
	w := newWorkspace(t, emulator.Options{}, nil)
	for name, token := range map[string]string{"wrong": "wrong-token-value", "unset": ""} {
		t.Run(name, func(t *testing.T) {
			cfg := w.config()
			cfg.IntercomAccessToken = token
			r := run(t, cfg, true, 0)
			c := mustCheck(t, r, "token")
			if c.Status != Fail || c.Setting != "INTERCOM_ACCESS_TOKEN" {
				t.Errorf("token row = %+v", c)
			}
			err := r.Err()
			if err == nil || !strings.Contains(err.Error(), "INTERCOM_ACCESS_TOKEN") {
				t.Fatalf("Err = %v, want it to name INTERCOM_ACCESS_TOKEN", err)
			}
			if token != "" && !strings.Contains(c.Observed, "401") {
				t.Errorf("observed %q, want the 401", c.Observed)
			}
			// Nothing else can be checked against Intercom.
			want(t, r, map[string]Status{"rate_limit": Skip, "admin_id": Skip, "attribute.contact.status": Skip,
				"search.in_150": Skip, "lead.external_id": Skip, "search.lag": Skip})
		})
	}
	if n := w.em.Snapshot().Counters.ByEndpoint["GET /me"]; n != 0 {
		t.Errorf("GET /me reached the endpoint %d times with a bad token", n)
	}
	if w.em.Snapshot().Counters.Unauthorized != 1 {
		t.Errorf("unauthorized calls = %d, want only GET /me", w.em.Snapshot().Counters.Unauthorized)
	}
}

func TestAdminID(t *testing.T) {
	// The emulator has no /admins; this stands in for Intercom's GET
	// /admins/{id} with one more admin, 7777.
	admins := intercept(func(r *http.Request, _ []byte) bool { return strings.HasPrefix(r.URL.Path, "/admins/") },
		func(w http.ResponseWriter, r *http.Request, _ []byte, _ http.Handler) {
			if r.URL.Path != "/admins/7777" {
				writeIntercomError(w, http.StatusNotFound, "admin_not_found", "Admin not found")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "admin", "id": "7777", "name": "Other Admin",
				"email": "other@emulator.test", "job_title": "", "away_mode_enabled": false, "away_mode_reassign": false,
				"has_inbox_seat": true, "team_ids": []int{}})
		})
	plain := newWorkspace(t, emulator.Options{}, nil)
	withAdmins := newWorkspace(t, emulator.Options{}, admins)
	for _, tc := range []struct {
		name  string
		ws    *workspace
		id    string
		want  Status
		fails bool
	}{
		{"unset", plain, "", Pass, false},
		{"the token's admin", plain, emulator.AdminID, Pass, false},
		{"unknown, no /admins endpoint", plain, "424242", Fail, true},
		{"unknown", withAdmins, "424242", Fail, true},
		{"another admin", withAdmins, "7777", Pass, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.ws.config()
			cfg.IntercomAdminID = tc.id
			r := run(t, cfg, false, 0)
			c := mustCheck(t, r, "admin_id")
			if c.Status != tc.want {
				t.Fatalf("admin_id row = %+v, want %s", c, tc.want)
			}
			err := r.Err()
			if tc.fails != (err != nil) {
				t.Fatalf("Err = %v", err)
			}
			if tc.fails && (!strings.Contains(err.Error(), "INTERCOM_ADMIN_ID") || !strings.Contains(c.Observed, tc.id)) {
				t.Errorf("Err = %v, observed %q; want them to name INTERCOM_ADMIN_ID and %s", err, c.Observed, tc.id)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		emuLimit   int
		configured int
		want       Status
		observed   string
	}{
		{"within", 10000, 1000, Pass, "Limit 1667 per 10 s"},
		{"equal", 600, 600, Pass, "Limit 100 per 10 s"},
		{"above Intercom's", 600, 1000, Warn, "Limit 100 per 10 s"},
		{"no headers", 0, 1000, Warn, "no X-RateLimit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorkspace(t, emulator.Options{RateLimitPerMinute: tc.emuLimit}, nil)
			cfg := w.config()
			cfg.IntercomRateLimitPerMinute = tc.configured
			c := mustCheck(t, run(t, cfg, false, 0), "rate_limit")
			if c.Status != tc.want || !strings.Contains(c.Observed, tc.observed) {
				t.Fatalf("rate_limit row = %+v, want %s with %q", c, tc.want, tc.observed)
			}
			if tc.name == "above Intercom's" && !strings.Contains(c.Fix, "INTERCOM_RATE_LIMIT_PER_MINUTE to at most 600") {
				t.Errorf("fix = %q", c.Fix)
			}
		})
	}
}

func TestAttributes(t *testing.T) {
	// standardCreatedAt makes GET /data_attributes?model=company list
	// company created_at as a standard attribute, as Intercom does.
	standardCreatedAt := intercept(func(r *http.Request, _ []byte) bool {
		return r.Method == http.MethodGet && r.URL.Path == "/data_attributes" && r.URL.Query().Get("model") == "company"
	}, func(w http.ResponseWriter, r *http.Request, _ []byte, next http.Handler) {
		rec := &capture{header: http.Header{}}
		next.ServeHTTP(rec, r)
		var list map[string]any
		if err := json.Unmarshal(rec.body, &list); err != nil {
			writeIntercomError(w, 500, "server_error", err.Error())
			return
		}
		list["data"] = append(list["data"].([]any), map[string]any{"type": "data_attribute", "model": "company",
			"name": "created_at", "full_name": "created_at", "label": "Company created at", "description": "",
			"data_type": "date", "api_writable": false, "ui_writable": false, "messenger_writable": false,
			"custom": false, "archived": false})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	})
	// hideCreatedAt leaves company created_at out of the listing, as a
	// workspace that does not list it would.
	hideCreatedAt := intercept(func(r *http.Request, _ []byte) bool {
		return r.Method == http.MethodGet && r.URL.Path == "/data_attributes" && r.URL.Query().Get("model") == "company"
	}, func(w http.ResponseWriter, r *http.Request, _ []byte, next http.Handler) {
		rec := &capture{header: http.Header{}}
		next.ServeHTTP(rec, r)
		var list map[string]any
		if err := json.Unmarshal(rec.body, &list); err != nil {
			writeIntercomError(w, 500, "server_error", err.Error())
			return
		}
		kept := []any{}
		for _, a := range list["data"].([]any) {
			if a.(map[string]any)["name"] != "created_at" {
				kept = append(kept, a)
			}
		}
		list["data"] = kept
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	})
	for _, tc := range []struct {
		name  string
		wrap  func(http.Handler) http.Handler
		setup func(t *testing.T, w *workspace)
		id    string
		want  Status
		obs   string
		// created_at: check a company created_at as if the service wrote
		// one (earlier versions did), to see standard names caught.
		createdAt bool
		emu       emulator.Options
	}{
		{name: "absent and creatable", id: "attribute.contact.member_number", want: Pass, obs: "absent, creatable"},
		{name: "present", id: "attribute.contact.member_number", want: Pass, obs: "present, string",
			setup: addAttr("contact", "member_number", "string")},
		{name: "wrong type", id: "attribute.contact.member_number", want: Fail, obs: "type integer",
			setup: addAttr("contact", "member_number", "integer")},
		{name: "name differs in case", id: "attribute.contact.region", want: Fail, obs: "differs only in case",
			setup: addAttr("contact", "Region", "string")},
		{name: "archived", id: "attribute.company.environment", want: Fail, obs: "archived",
			setup: func(t *testing.T, w *workspace) {
				a, err := w.em.AddDataAttribute(emulator.DataAttribute{Model: "company", Name: "environment", DataType: "string"})
				if err != nil {
					t.Fatal(err)
				}
				// The emulator archives through the API only.
				req, _ := http.NewRequest(http.MethodPut, w.srv.URL+"/data_attributes/"+strconv.FormatInt(a.ID, 10),
					strings.NewReader(`{"archived":true}`))
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("archive: %v %v", resp, err)
				}
				resp.Body.Close()
			}},
		{name: "a standard attribute", id: "attribute.company.created_at", want: Fail, obs: "standard company attribute",
			wrap: standardCreatedAt, createdAt: true},
		{name: "documented standard, not listed", id: "attribute.company.created_at", want: Warn, obs: "Intercom documents",
			wrap: hideCreatedAt, createdAt: true},
		{name: "present as custom although documented standard", id: "attribute.company.created_at", want: Pass,
			obs: "present, date", setup: addAttr("company", "created_at", "date"), createdAt: true,
			emu: emulator.Options{Loose: emulator.Loose{AnyAttributeName: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorkspace(t, tc.emu, tc.wrap)
			if tc.setup != nil {
				tc.setup(t, w)
			}
			var attrs []Attribute
			if tc.createdAt {
				attrs = append(slices.Clone(ServiceAttributes), Attribute{"company", "created_at", "date"})
			}
			r := runAttrs(t, w.config(), false, 0, attrs)
			c := mustCheck(t, r, tc.id)
			if c.Status != tc.want || !strings.Contains(c.Observed, tc.obs) {
				t.Fatalf("%s = %+v, want %s with %q", tc.id, c, tc.want, tc.obs)
			}
			if tc.want == Fail && r.Err() == nil {
				t.Error("Err is nil with a failed attribute")
			}
			if tc.name == "a standard attribute" && !strings.Contains(c.Fix, "remote_created_at") {
				t.Errorf("fix = %q, want remote_created_at named", c.Fix)
			}
		})
	}
}

func addAttr(model, name, typ string) func(t *testing.T, w *workspace) {
	return func(t *testing.T, w *workspace) {
		if _, err := w.em.AddDataAttribute(emulator.DataAttribute{Model: model, Name: name, DataType: typ}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSecrets(t *testing.T) {
	base := newWorkspace(t, emulator.Options{}, nil).config()
	for _, tc := range []struct {
		name   string
		change func(c *config.Config)
		want   map[string]Status
	}{
		{"all set", func(c *config.Config) {}, map[string]Status{"secret.clerk": Pass, "secret.intercom_webhook": Pass, "secret.lookup_api": Pass}},
		{"clerk unset", func(c *config.Config) { c.ClerkWebhookSecret = "" }, map[string]Status{"secret.clerk": Fail}},
		{"clerk without prefix", func(c *config.Config) { c.ClerkWebhookSecret = "ZG9jdG9yLXRlc3Q=" }, map[string]Status{"secret.clerk": Fail}},
		{"clerk not base64", func(c *config.Config) { c.ClerkWebhookSecret = "whsec_not*base64!" }, map[string]Status{"secret.clerk": Fail}},
		{"clerk empty key", func(c *config.Config) { c.ClerkWebhookSecret = "whsec_" }, map[string]Status{"secret.clerk": Fail}},
		{"intercom unset in production", func(c *config.Config) { c.IntercomWebhookSecret = "" },
			map[string]Status{"secret.intercom_webhook": Fail}},
		// Fail closed: development opens nothing.
		{"intercom unset in development", func(c *config.Config) { c.IntercomWebhookSecret, c.EnvironmentName = "", "development" },
			map[string]Status{"secret.intercom_webhook": Fail}},
		{"lookup unset", func(c *config.Config) { c.LookupAPIToken = "" }, map[string]Status{"secret.lookup_api": Warn}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.change(&cfg)
			d := &doctor{cfg: cfg, report: &Report{}}
			d.checkSecrets()
			want(t, d.report, tc.want)
			assertNoSecrets(t, d.report)
			for id, st := range tc.want {
				c := mustCheck(t, d.report, id)
				if err := d.report.Err(); st == Fail && (err == nil || !strings.Contains(err.Error(), c.Setting)) {
					t.Errorf("Err = %v, want it to name %s", err, c.Setting)
				}
			}
		})
	}
}

// capture is a minimal ResponseWriter for rewriting an answer.
type capture struct {
	header http.Header
	status int
	body   []byte
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) WriteHeader(s int)           { c.status = s }
func (c *capture) Write(b []byte) (int, error) { c.body = append(c.body, b...); return len(b), nil }
