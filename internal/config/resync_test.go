package config

import (
	"os"
	"testing"
)

func TestResyncSettings(t *testing.T) {
	for _, k := range Keys {
		t.Setenv(k.Env, "")
		os.Unsetenv(k.Env)
	}
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ResyncTag != "mynatca-sync" || c.IntercomAdminID != "" {
		t.Fatalf("defaults: RESYNC_TAG %q, INTERCOM_ADMIN_ID %q", c.ResyncTag, c.IntercomAdminID)
	}
	t.Setenv("RESYNC_TAG", " support-resync ")
	t.Setenv("INTERCOM_ADMIN_ID", "991267")
	if c, err = Load(nil); err != nil || c.ResyncTag != "support-resync" || c.IntercomAdminID != "991267" {
		t.Fatalf("%q %q %v", c.ResyncTag, c.IntercomAdminID, err)
	}
	// An empty tag would silently turn the re-sync off.
	t.Setenv("RESYNC_TAG", " ")
	if _, err := Load(nil); err == nil {
		t.Fatal("an empty RESYNC_TAG was accepted")
	}
}
