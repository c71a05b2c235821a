package doctor

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

// writeCase is one --write run against an emulator. Cases for the
// emulator's strict options go here: set emu (e.g. a lead that drops its
// external_id, IN > 15 refused) and say what doctor must report.
type writeCase struct {
	name string
	emu  emulator.Options
	// wrap stands in for Intercom behaviour the emulator lacks.
	wrap          func(http.Handler) http.Handler
	searchTimeout time.Duration
	want          map[string]Status
	check         func(t *testing.T, r *Report)
	// fails: the run must report a false assumption.
	fails bool
}

var writeCases = []writeCase{
	{
		name: "large IN accepted",
		emu:  emulator.Options{Loose: emulator.Loose{LargeSearchFilters: true}},
		want: map[string]Status{"search.in_150": Pass, "search.in_15": Pass, "cleanup": Pass},
	},
	{
		name: "leads keep external_id",
		emu:  emulator.Options{Loose: emulator.Loose{LeadsKeepExternalID: true}},
		want: map[string]Status{"lead.external_id": Pass, "cleanup": Pass},
		check: func(t *testing.T, r *Report) {
			lead := mustCheck(t, r, "lead.external_id")
			if lead.Data["kept"] != true || lead.Data["role"] != "lead" || lead.Observed != "kept (read back by id)" {
				t.Errorf("lead row = %+v", lead)
			}
		},
	},
	{
		name: "search without lag",
		emu:  emulator.Options{Loose: emulator.Loose{NoSearchLag: true}},
		want: map[string]Status{"search.lag": Pass, "cleanup": Pass},
		check: func(t *testing.T, r *Report) {
			lag := mustCheck(t, r, "search.lag")
			if s, ok := lag.Data["lag_seconds"].(float64); !ok || s > 1 {
				t.Errorf("lag row = %+v, want a lag under 1 s", lag)
			}
		},
	},
	{
		name: "default emulator",
		// Strict, the emulator refuses an IN of more than 15 values.
		want: map[string]Status{"lead.external_id": Pass, "search.lag": Pass, "search.in_150": Warn, "search.in_15": Pass, "cleanup": Pass},
		check: func(t *testing.T, r *Report) {
			// Strict, the emulator drops a lead's external_id, as Segment
			// reports Intercom does: observed, not failed.
			lead := mustCheck(t, r, "lead.external_id")
			if lead.Data["kept"] != false || !strings.HasPrefix(lead.Observed, "dropped") {
				t.Errorf("lead row = %+v", lead)
			}
			// The emulator's search lags writes by 2 s by default.
			lag := mustCheck(t, r, "search.lag")
			if s, ok := lag.Data["lag_seconds"].(float64); !ok || s < 2 || s > 5 {
				t.Errorf("lag row = %+v, want the emulator's 2 s lag measured", lag)
			}
			if c := mustCheck(t, r, "search.in_15"); c.Data["accepted"] != true || c.Data["found"] != true {
				t.Errorf("in_15 = %+v, want accepted and the throwaway user found", c)
			}
			if c := mustCheck(t, r, "search.in_150"); c.Data["size"] != 150 || c.Data["accepted"] != false {
				t.Errorf("in_150 = %+v, want 150 values refused", c)
			}
		},
	},
	{
		name: "search lags 2 s",
		emu:  emulator.Options{SearchIndexDelay: 2 * time.Second},
		want: map[string]Status{"search.lag": Pass, "search.in_15": Pass, "cleanup": Pass},
		check: func(t *testing.T, r *Report) {
			lag := mustCheck(t, r, "search.lag")
			s, _ := lag.Data["lag_seconds"].(float64)
			e, _ := lag.Data["email_lag_seconds"].(float64)
			if s < 2 || s > 3.5 || e < 2 || e > 3.5 {
				t.Errorf("lag row = %+v, want about 2 s for external_id and email", lag)
			}
			if !strings.Contains(lag.Observed, "after 2.") {
				t.Errorf("observed %q", lag.Observed)
			}
		},
	},
	{
		name:          "search lags past the timeout",
		emu:           emulator.Options{SearchIndexDelay: time.Hour},
		searchTimeout: 1500 * time.Millisecond,
		want:          map[string]Status{"search.lag": Warn, "search.in_15": Pass, "cleanup": Pass},
		check: func(t *testing.T, r *Report) {
			lag := mustCheck(t, r, "search.lag")
			if lag.Data["found_by_external_id"] != false || !strings.Contains(lag.Observed, "not within 1.5s") {
				t.Errorf("lag row = %+v", lag)
			}
			if c := mustCheck(t, r, "search.in_15"); c.Data["found"] != false {
				t.Errorf("in_15 = %+v, want the unindexed user not found", c)
			}
		},
	},
	{
		name: "lead drops its external_id",
		wrap: intercept(func(r *http.Request, body []byte) bool {
			return r.Method == http.MethodPost && r.URL.Path == "/contacts" && strings.Contains(string(body), `"role":"lead"`)
		}, func(w http.ResponseWriter, r *http.Request, body []byte, next http.Handler) {
			var f map[string]any
			_ = json.Unmarshal(body, &f)
			delete(f, "external_id")
			b, _ := json.Marshal(f)
			r2 := r.Clone(r.Context())
			r2.Body, r2.ContentLength = readCloser(b), int64(len(b))
			next.ServeHTTP(w, r2)
		}),
		// The service does not rely on a lead's external_id: no failure.
		want: map[string]Status{"lead.external_id": Pass, "search.lag": Pass, "cleanup": Pass},
		check: func(t *testing.T, r *Report) {
			lead := mustCheck(t, r, "lead.external_id")
			if lead.Data["kept"] != false || !strings.HasPrefix(lead.Observed, "dropped") {
				t.Errorf("lead row = %+v", lead)
			}
		},
	},
	{
		name: "IN over 15 values refused",
		wrap: intercept(func(r *http.Request, body []byte) bool { return isSearch(r) && inValues(body) > 15 },
			func(w http.ResponseWriter, _ *http.Request, _ []byte, _ http.Handler) {
				writeIntercomError(w, http.StatusBadRequest, "parameter_invalid", "IN accepts at most 15 values")
			}),
		// The service sends 15 at most: a refused 150 is only reported.
		want: map[string]Status{"search.in_150": Warn, "search.in_15": Pass, "lead.external_id": Pass, "cleanup": Pass},
		check: func(t *testing.T, r *Report) {
			c := mustCheck(t, r, "search.in_150")
			if c.Data["accepted"] != false || !strings.Contains(c.Observed, "refused") {
				t.Errorf("in_150 row = %+v", c)
			}
		},
	},
	{
		name: "IN of 15 refused",
		wrap: intercept(func(r *http.Request, body []byte) bool { return isSearch(r) && inValues(body) > 5 },
			func(w http.ResponseWriter, _ *http.Request, _ []byte, _ http.Handler) {
				writeIntercomError(w, http.StatusBadRequest, "parameter_invalid", "IN accepts at most 5 values")
			}),
		want:  map[string]Status{"search.in_150": Warn, "search.in_15": Fail, "cleanup": Pass},
		fails: true,
	},
	{
		name: "search broken: the records are deleted all the same",
		wrap: intercept(func(r *http.Request, _ []byte) bool { return isSearch(r) },
			func(w http.ResponseWriter, _ *http.Request, _ []byte, _ http.Handler) {
				writeIntercomError(w, http.StatusInternalServerError, "server_error", "Server Error")
			}),
		want:  map[string]Status{"search.lag": Fail, "search.in_150": Warn, "search.in_15": Fail, "cleanup": Pass},
		fails: true,
	},
}

func TestWrite(t *testing.T) {
	for _, tc := range writeCases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorkspace(t, tc.emu, tc.wrap)
			r := run(t, w.config(), true, tc.searchTimeout)
			if !r.Write {
				t.Error("report does not say --write")
			}
			want(t, r, tc.want)
			if tc.check != nil {
				tc.check(t, r)
			}
			if err := r.Err(); tc.fails != (err != nil) {
				t.Errorf("Err = %v, want a failure: %v", err, tc.fails)
			}
			// Two throwaway contacts were made, deleted, and are gone.
			st := w.em.Snapshot()
			if n := st.Counters.ByEndpoint["POST /contacts"]; n != 2 {
				t.Errorf("POST /contacts = %d, want 2", n)
			}
			if n := st.Counters.ByEndpoint["DELETE /contacts/{contact_id}"]; n != 2 {
				t.Errorf("DELETE /contacts = %d, want 2", n)
			}
			if left := throwaways(w.em); len(left) != 0 {
				t.Errorf("throwaway contacts left: %+v", left)
			}
			if len(st.Contacts) != 0 {
				t.Errorf("contacts left: %+v", st.Contacts)
			}
			if c := mustCheck(t, r, "cleanup"); len(c.Data["ids"].([]string)) != 2 {
				t.Errorf("cleanup row = %+v", c)
			}
		})
	}
}

// A throwaway contact that cannot be deleted is a failure that names it.
func TestCleanupFailure(t *testing.T) {
	w := newWorkspace(t, emulator.Options{}, intercept(func(r *http.Request, _ []byte) bool {
		return r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/contacts/")
	}, func(w http.ResponseWriter, _ *http.Request, _ []byte, _ http.Handler) {
		writeIntercomError(w, http.StatusForbidden, "forbidden", "Not allowed")
	}))
	r := run(t, w.config(), true, 0)
	c := mustCheck(t, r, "cleanup")
	left := throwaways(w.em)
	if c.Status != Fail || len(left) != 2 || r.Err() == nil {
		t.Fatalf("cleanup row = %+v, %d left, Err = %v", c, len(left), r.Err())
	}
	for _, x := range left {
		if !strings.Contains(c.Observed, x.ID) {
			t.Errorf("cleanup row %q does not name %s", c.Observed, x.ID)
		}
	}
}

// Cancelling the run (Ctrl-C) still deletes the throwaway contacts.
func TestCleanupAfterCancel(t *testing.T) {
	w := newWorkspace(t, emulator.Options{SearchIndexDelay: time.Hour}, nil)
	ctx, cancel := contextWithTimeout(t, 700*time.Millisecond)
	defer cancel()
	r := Run(ctx, Options{Config: w.config(), Write: true, SearchTimeout: time.Minute})
	want(t, r, map[string]Status{"search.lag": Warn, "cleanup": Pass})
	if left := throwaways(w.em); len(left) != 0 || w.em.Snapshot().Counters.ByEndpoint["POST /contacts"] != 2 {
		t.Errorf("after a cancel: %d left", len(left))
	}
}
