package emulator_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/emulator"
)

// persistFixture fills e through the HTTP API with one of everything the
// state holds, including what only shows in unexported fields (creation
// order, tag applied times) and a contact still hidden from search.
func persistFixture(t *testing.T, e *env, clk *clock) map[string]string {
	t.Helper()
	out := map[string]string{}
	e.defineAttrs("contact", "plan", "string", "seats", "integer", "score", "float", "vip", "boolean")
	e.defineAttrs("company", "tier", "string")
	e.ok("PUT", "/data_attributes/"+strconv.FormatInt(attrID(t, e, "contact", "vip"), 10), map[string]any{"archived": true})
	vip := e.ok("POST", "/tags", map[string]any{"name": "vip"})["id"].(string)
	billing := e.ok("POST", "/tags", map[string]any{"name": "billing"})["id"].(string)
	out["vip"], out["billing"] = vip, billing

	add := func(key string, body map[string]any) {
		clk.Advance(1500 * time.Millisecond)
		out[key] = e.createContact(body)["id"].(string)
	}
	add("ann", map[string]any{"external_id": "u-1", "email": "ann@acme.com", "name": "Ann Smith",
		"custom_attributes": map[string]any{"plan": "pro", "seats": 10, "score": 2.5}})
	// An integral float must come back as a float, not an integer; raw
	// JSON, since encoding/json would write 3.0 as 3.
	clk.Advance(1500 * time.Millisecond)
	out["bob"] = e.ok("POST", "/contacts", `{"external_id": "u-2", "email": "bob@acme.com", "name": "Bob Smith",
		"custom_attributes": {"score": 3.0}}`)["id"].(string)
	add("lead", map[string]any{"role": "lead", "email": "visitor@acme.com", "name": "Visitor"})
	add("merged", map[string]any{"role": "lead", "email": "ann.lead@acme.com"})
	add("gone", map[string]any{"external_id": "u-9", "email": "gone@acme.com"})
	add("archived", map[string]any{"external_id": "u-8", "email": "old@acme.com", "name": "Old Smith"})

	co := e.ok("POST", "/companies", map[string]any{"company_id": "c-1", "name": "Acme", "plan": "pro",
		"custom_attributes": map[string]any{"tier": "gold"}})["id"].(string)
	other := e.ok("POST", "/companies", map[string]any{"company_id": "c-2", "name": "Globex", "plan": "free"})["id"].(string)
	out["acme"], out["globex"] = co, other
	e.ok("POST", "/contacts/"+out["ann"]+"/companies", map[string]any{"id": co})
	e.ok("POST", "/contacts/"+out["bob"]+"/companies", map[string]any{"id": co})
	e.ok("POST", "/contacts/"+out["bob"]+"/companies", map[string]any{"id": other})
	e.ok("POST", "/contacts/"+out["merged"]+"/companies", map[string]any{"id": other})
	clk.Advance(time.Minute)
	e.ok("POST", "/contacts/"+out["ann"]+"/tags", map[string]any{"id": vip})
	e.ok("POST", "/tags", map[string]any{"name": "billing", "companies": []any{map[string]any{"company_id": "c-2"}}})
	e.ok("POST", "/contacts/merge", map[string]any{"from": out["merged"], "into": out["ann"]})
	e.ok("DELETE", "/contacts/"+out["gone"], nil)
	e.ok("POST", "/contacts/"+out["archived"]+"/archive", nil)
	e.ok("PUT", "/contacts/"+out["bob"], map[string]any{"name": "Robert Smith"})

	r := e.doOpt("POST", "/_emulator/conversations", []map[string]any{
		{"contacts": []any{map[string]any{"id": out["ann"]}}, "title": "Refund",
			"parts": []any{map[string]any{"body": "first reply"}}},
		{"id": "555", "state": "closed", "custom_attributes": map[string]any{"n": 3}},
	}, reqOpt{token: strPtr("")})
	if r.status != 200 {
		t.Fatalf("seed conversations: %d %s", r.status, r.raw)
	}
	var convs []emulator.Conversation
	if err := json.Unmarshal(r.raw, &convs); err != nil {
		t.Fatal(err)
	}
	out["conv"] = convs[0].ID
	clk.Advance(time.Minute)
	e.ok("POST", "/conversations/"+out["conv"]+"/tags", map[string]any{"id": billing, "admin_id": emulator.AdminID})
	e.ok("PUT", "/conversations/555", map[string]any{"read": true, "custom_attributes": map[string]any{"status": "synced", "ratio": 1.0}})

	// Created last and just now: still outside the search index.
	out["fresh"] = e.createContact(map[string]any{"external_id": "u-10", "email": "fresh@acme.com", "name": "Fresh Smith"})["id"].(string)
	return out
}

func attrID(t *testing.T, e *env, model, name string) int64 {
	t.Helper()
	for _, a := range e.srv.Snapshot().DataAttributes {
		if a.Model == model && a.Name == name && a.Custom {
			return a.ID
		}
	}
	t.Fatalf("no custom attribute %s.%s", model, name)
	return 0
}

// withoutCounters drops what persistence deliberately leaves out.
func withoutCounters(s emulator.State) emulator.State {
	s.Counters = emulator.Counters{}
	return s
}

func TestSaveLoadRoundTrip(t *testing.T) {
	const indexDelay = time.Minute
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 0, 250_000_000, time.UTC))
	opts := emulator.Options{Now: clk.Now, SearchIndexDelay: indexDelay}
	a := newEnv(t, opts)
	ref := persistFixture(t, a, clk)

	var saved bytes.Buffer
	if err := a.srv.SaveState(&saved); err != nil {
		t.Fatal(err)
	}
	b := newEnv(t, opts)
	if err := b.srv.LoadState(bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatal(err)
	}

	// The whole state, unexported fields included (reflect compares them).
	want, got := withoutCounters(a.srv.Snapshot()), withoutCounters(b.srv.Snapshot())
	if !reflect.DeepEqual(want, got) {
		wj, _ := json.MarshalIndent(want, "", " ")
		gj, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("loaded state differs from saved one:\nsaved:  %s\nloaded: %s", wj, gj)
	}
	if v, ok := got.Contacts[1].CustomAttributes["score"].(float64); !ok || v != 3 {
		t.Errorf("integral float attribute came back as %#v", got.Contacts[1].CustomAttributes["score"])
	}

	// Saving again gives the same bytes, so the emulator command can tell
	// "nothing changed" by comparing documents.
	var again bytes.Buffer
	if err := b.srv.SaveState(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved.Bytes(), again.Bytes()) {
		t.Errorf("a loaded state saves differently:\nfirst:  %s\nsecond: %s", saved.Bytes(), again.Bytes())
	}

	// Both servers answer the API alike.
	for _, path := range []string{
		"/me", "/contacts", "/contacts/" + ref["ann"], "/contacts/" + ref["ann"] + "/tags",
		"/companies", "/companies/" + ref["globex"], "/tags",
		"/data_attributes?include_archived=true", "/conversations/" + ref["conv"], "/conversations/555",
	} {
		ra, rb := a.do("GET", path, nil), b.do("GET", path, nil)
		if ra.status != 200 || rb.status != ra.status || !bytes.Equal(ra.raw, rb.raw) {
			t.Errorf("GET %s: saved server %d %s\nloaded server %d %s", path, ra.status, ra.raw, rb.status, rb.raw)
		}
	}
	wantError(t, b.do("GET", "/contacts/"+ref["merged"], nil), 404, "not_found", "User Not Found")
	wantError(t, b.do("GET", "/contacts/"+ref["archived"], nil), 404, "not_found", "User Not Found")
	wantError(t, b.do("GET", "/contacts/"+ref["gone"], nil), 404, "not_found", "User Not Found")

	// Search order and cursors survive: a cursor from the saved server
	// pages on in the loaded one. The fresh contact is still indexing, as
	// its precise creation time was kept.
	smiths := map[string]any{"field": "name", "operator": "~", "value": "smith"}
	full := ids(a.search(smiths, nil))
	if wantOrder := []string{ref["ann"], ref["bob"]}; !slices.Equal(full, wantOrder) {
		t.Fatalf("search on the saved server = %v, want %v", full, wantOrder)
	}
	if got := ids(b.search(smiths, nil)); !slices.Equal(got, full) {
		t.Errorf("search on the loaded server = %v, want %v", got, full)
	}
	page1 := a.search(smiths, map[string]any{"per_page": 1})
	next := page1["pages"].(map[string]any)["next"].(map[string]any)["starting_after"]
	if got := ids(b.search(smiths, map[string]any{"per_page": 1, "starting_after": next})); !slices.Equal(got, full[1:]) {
		t.Errorf("page 2 on the loaded server = %v, want %v", got, full[1:])
	}
	clk.Advance(indexDelay)
	if got := ids(b.search(smiths, nil)); !slices.Equal(got, append(slices.Clone(full), ref["fresh"])) {
		t.Errorf("after the index delay, search = %v, want the fresh contact last", got)
	}

	// New objects get fresh ids and sort after the loaded ones.
	clk.Advance(time.Second)
	taken := map[string]bool{}
	for _, c := range got.Contacts {
		taken[c.ID] = true
	}
	nc := b.createContact(map[string]any{"external_id": "u-11", "name": "New Smith"})["id"].(string)
	if taken[nc] {
		t.Errorf("new contact reused id %s", nc)
	}
	if list := ids(b.do("GET", "/contacts", nil).obj(t)); list[len(list)-1] != nc {
		t.Errorf("new contact is not last in creation order: %v", list)
	}
	tag := b.ok("POST", "/tags", map[string]any{"name": "new"})["id"].(string)
	for _, old := range got.Tags {
		if old.ID == tag {
			t.Errorf("new tag reused id %s (%s)", tag, old.Name)
		}
	}
	if tags := ids(b.ok("GET", "/tags", nil)); len(tags) != len(got.Tags)+1 {
		t.Errorf("tags after a create = %v", tags)
	}
	attr := b.ok("POST", "/data_attributes", map[string]any{"name": "new_attr", "model": "contact", "data_type": "string"})
	for _, old := range got.DataAttributes {
		if old.Custom && float64(old.ID) == attr["id"] {
			t.Errorf("new data attribute reused id %v (%s)", attr["id"], old.Name)
		}
	}
	nc2 := b.ok("POST", "/companies", map[string]any{"company_id": "c-3", "plan": "enterprise"})
	plan := nc2["plan"].(map[string]any)["id"]
	for _, name := range []string{"pro", "free"} {
		var co map[string]any
		for _, c := range []string{ref["acme"], ref["globex"]} {
			if m := b.ok("GET", "/companies/"+c, nil); m["plan"].(map[string]any)["name"] == name {
				co = m
			}
		}
		if co["plan"].(map[string]any)["id"] == plan {
			t.Errorf("new plan reused the id of plan %s", name)
		}
	}
	convs, err := b.srv.SeedConversation(emulator.Conversation{Parts: []emulator.ConversationPart{{Body: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range got.Conversations {
		if old.ID == convs[0].ID {
			t.Errorf("new conversation reused id %s", old.ID)
		}
		for _, p := range old.Parts {
			if p.ID == convs[0].Parts[0].ID || p.ID == convs[0].Source.ID {
				t.Errorf("new conversation part reused id %s", p.ID)
			}
		}
	}
}

func TestLoadStateKeepsCountersAndReplacesData(t *testing.T) {
	src := newEnv(t, emulator.Options{})
	src.createContact(map[string]any{"external_id": "u-1"})
	var saved bytes.Buffer
	if err := src.srv.SaveState(&saved); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(saved.String(), "counters") || strings.Contains(saved.String(), "requests") {
		t.Errorf("saved document holds counters: %s", saved.Bytes())
	}

	dst := newEnv(t, emulator.Options{})
	dst.createContact(map[string]any{"external_id": "u-2"})
	dst.createContact(map[string]any{"external_id": "u-3"})
	before := dst.srv.Snapshot().Counters
	if err := dst.srv.LoadState(&saved); err != nil {
		t.Fatal(err)
	}
	after := dst.srv.Snapshot()
	if len(after.Contacts) != 1 || after.Contacts[0].ExternalID != "u-1" {
		t.Errorf("contacts after load = %+v, want only u-1", after.Contacts)
	}
	if !reflect.DeepEqual(after.Counters, before) {
		t.Errorf("counters after load = %+v, want them kept: %+v", after.Counters, before)
	}
}

func TestLoadStateRejectsBadDocuments(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.createContact(map[string]any{"external_id": "u-1"})
	e.ok("POST", "/tags", map[string]any{"name": "vip"})
	var saved bytes.Buffer
	if err := e.srv.SaveState(&saved); err != nil {
		t.Fatal(err)
	}
	var good map[string]any
	if err := json.Unmarshal(saved.Bytes(), &good); err != nil {
		t.Fatal(err)
	}
	// edit returns the saved document with one change.
	edit := func(f func(doc map[string]any)) string {
		var doc map[string]any
		if err := json.Unmarshal(saved.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		f(doc)
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name, doc, wantErr string
	}{
		{"unknown version", edit(func(d map[string]any) { d["version"] = 2 }), "version 2 is not supported"},
		{"no version", edit(func(d map[string]any) { delete(d, "version") }), "no version"},
		{"not JSON", "contacts: []", "not a JSON document"},
		{"version not a number", `{"version": "1"}`, "not a JSON document"},
		{"unknown field", edit(func(d map[string]any) { d["contactz"] = []any{} }), "unknown field"},
		{"tag beyond its sequence", edit(func(d map[string]any) {
			d["sequences"].(map[string]any)["next_tag"] = 1
		}), "beyond sequences.next_tag"},
		{"contact seq beyond the sequence", edit(func(d map[string]any) {
			d["sequences"].(map[string]any)["seq"] = 0
		}), "seq 1 is not in 1..sequences.seq 0"},
		{"duplicate contact", edit(func(d map[string]any) {
			cs := d["contacts"].([]any)
			d["contacts"] = append(cs, cs[0])
		}), "id is used twice"},
		{"bad role", edit(func(d map[string]any) {
			d["contacts"].([]any)[0].(map[string]any)["role"] = "admin"
		}), `role "admin"`},
		{"built-in attribute", edit(func(d map[string]any) {
			d["data_attributes"] = []any{map[string]any{"model": "contact", "name": "email", "full_name": "email", "custom": false}}
		}), "only custom attributes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.srv.Snapshot()
			err := e.srv.LoadState(strings.NewReader(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("LoadState = %v, want an error containing %q", err, c.wantErr)
			}
			if after := e.srv.Snapshot(); !reflect.DeepEqual(withoutCounters(after), withoutCounters(before)) {
				t.Error("a rejected document changed the state")
			}
		})
	}
}

func TestStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emulator.json")
	e := newEnv(t, emulator.Options{})
	f, loaded, err := emulator.OpenStateFile(e.srv, path)
	if err != nil || loaded {
		t.Fatalf("OpenStateFile on a missing file = %v, loaded %v; want a fresh start", err, loaded)
	}
	id := e.createContact(map[string]any{"external_id": "u-1"})["id"].(string)
	if wrote, err := f.SaveIfChanged(); err != nil || !wrote {
		t.Fatalf("SaveIfChanged after a create = %v, %v; want a write", wrote, err)
	}
	if wrote, err := f.SaveIfChanged(); err != nil || wrote {
		t.Errorf("SaveIfChanged with nothing changed = %v, %v; want no write", wrote, err)
	}
	// Reads and counters are not data: no write.
	e.ok("GET", "/contacts/"+id, nil)
	if wrote, err := f.SaveIfChanged(); err != nil || wrote {
		t.Errorf("SaveIfChanged after a read = %v, %v; want no write", wrote, err)
	}
	e.ok("PUT", "/contacts/"+id, map[string]any{"name": "Ann"})
	if wrote, err := f.SaveIfChanged(); err != nil || !wrote {
		t.Errorf("SaveIfChanged after an update = %v, %v; want a write", wrote, err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "emulator.json" {
		t.Errorf("directory holds %v, want only emulator.json (no temp files left)", entries)
	}

	// A restart: a new server with the same file has the same data.
	next := newEnv(t, emulator.Options{})
	f2, loaded, err := emulator.OpenStateFile(next.srv, path)
	if err != nil || !loaded {
		t.Fatalf("OpenStateFile on the saved file = %v, loaded %v", err, loaded)
	}
	if got := next.ok("GET", "/contacts/"+id, nil); got["name"] != "Ann" {
		t.Errorf("contact after restart = %v", got)
	}
	if wrote, err := f2.SaveIfChanged(); err != nil || wrote {
		t.Errorf("SaveIfChanged right after loading = %v, %v; want no write", wrote, err)
	}

	// A bad file is an error, and stays as it was for a human to look at.
	if err := os.WriteFile(path, []byte(`{"version": 99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := emulator.OpenStateFile(newEnv(t, emulator.Options{}).srv, path); err == nil ||
		!strings.Contains(err.Error(), "version 99") {
		t.Errorf("OpenStateFile on a version 99 file = %v, want a version error", err)
	}
	if raw, _ := os.ReadFile(path); string(raw) != `{"version": 99}` {
		t.Errorf("the bad file was changed: %s", raw)
	}
}
