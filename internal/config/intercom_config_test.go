package config

import (
	"os"
	"strings"
	"testing"
)

func unsetAll(t *testing.T) {
	for _, k := range Keys {
		t.Setenv(k.Env, "")
		os.Unsetenv(k.Env)
	}
}

func TestPositionsDatabaseDefaultsToDatabaseURL(t *testing.T) {
	unsetAll(t)
	t.Setenv("DATABASE_URL", "postgres://app")
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.PositionsDatabaseURL != "postgres://app" {
		t.Fatalf("POSITIONS_DATABASE_URL = %q, want DATABASE_URL", c.PositionsDatabaseURL)
	}
	t.Setenv("POSITIONS_DATABASE_URL", "postgres://supabase")
	if c, _ = Load(nil); c.PositionsDatabaseURL != "postgres://supabase" {
		t.Fatalf("POSITIONS_DATABASE_URL = %q", c.PositionsDatabaseURL)
	}
}

func TestMemberTypeMap(t *testing.T) {
	unsetAll(t)
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MemberTypes.MemberType("Active", 1) != "Member" || c.MemberTypes.MemberType("Retired", 2) != "Retired" {
		t.Fatalf("default map %q", c.MemberTypes)
	}
	t.Setenv("MEMBER_TYPE_MAP", "Active:2=Associate,Active:*=Member")
	if c, err = Load(nil); err != nil || c.MemberTypes.MemberType("Active", 2) != "Associate" {
		t.Fatalf("%v %q", err, c.MemberTypes)
	}
	t.Setenv("MEMBER_TYPE_MAP", "Active:two=Associate")
	if _, err := Load(nil); err == nil || !strings.Contains(err.Error(), "MEMBER_TYPE_MAP") {
		t.Fatalf("bad map: %v", err)
	}
}

func TestIntercomSettingsAreRequirable(t *testing.T) {
	unsetAll(t)
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Development() {
		t.Fatal("the default environment is not development")
	}
	err = c.Require("MEMBERS_MYSQL_DSN", "INTERCOM_WEBHOOK_SECRET", "LOOKUP_API_TOKEN")
	for _, name := range []string{"MEMBERS_MYSQL_DSN", "INTERCOM_WEBHOOK_SECRET", "LOOKUP_API_TOKEN"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("Require = %v, want %s named", err, name)
		}
	}
	t.Setenv("ENVIRONMENT_NAME", "production")
	if c, _ = Load(nil); c.Development() {
		t.Fatal("production is development")
	}
}
