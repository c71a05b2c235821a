package activities_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/intercom-sync/intercom-sync/activities"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/metrics"
	"github.com/intercom-sync/intercom-sync/internal/store"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
)

// Every dependency but AdminID is required: New names the one missing, so
// a process whose wiring lost one fails at start. The fields are walked by
// reflection, so a dependency added later is covered too.
func TestNewRefusesAMissingDependency(t *testing.T) {
	full := activities.Deps{
		Store:       &store.Store{},
		Intercom:    intercom.New(intercom.Options{}),
		Environment: "test",
		Log:         testenv.Logger(t),
		Members:     unplugged{},
		Positions:   unplugged{},
		MemberTypes: members.MustParseTypeMap(members.DefaultTypeMap),
		Temporal:    unplugged{},
		Metrics:     metrics.New(),
	}
	if _, err := activities.New(full); err != nil {
		t.Fatalf("New with every dependency: %v", err)
	}
	optional := map[string]bool{"AdminID": true}
	typ := reflect.TypeOf(full)
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		if optional[name] {
			continue
		}
		d := full
		reflect.ValueOf(&d).Elem().Field(i).SetZero()
		_, err := activities.New(d)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("New without %s: %v, want an error naming it", name, err)
		}
	}
	// A typed nil (a *members.Directory never opened) is missing too.
	d := full
	var dir *members.Directory
	d.Members = dir
	if _, err := activities.New(d); err == nil || !strings.Contains(err.Error(), "Members") {
		t.Errorf("New with a nil *members.Directory: %v", err)
	}
}
