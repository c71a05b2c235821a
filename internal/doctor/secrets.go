package doctor

import (
	"strings"

	svix "github.com/svix/svix-webhooks/go"
)

// checkSecrets reports the webhook secrets as set or unset, and whether the
// Clerk secret is well formed. Values are never printed.
func (d *doctor) checkSecrets() {
	cfg := d.cfg
	dev := cfg.Development()

	env := Check{ID: "environment_name", Status: Pass, Setting: "ENVIRONMENT_NAME",
		Assumption: "ENVIRONMENT_NAME names this deployment",
		Observed:   cfg.EnvironmentName,
		Service:    "writes it to custom_attributes.environment"}
	d.report.add(env)

	clerk := Check{ID: "secret.clerk", Setting: "CLERK_WEBHOOK_SECRET",
		Assumption: "CLERK_WEBHOOK_SECRET is a whsec_ secret",
		Service:    "the API verifies Clerk's deliveries; won't start without it"}
	switch s := cfg.ClerkWebhookSecret; {
	case s == "":
		clerk.Status, clerk.Observed = Fail, "unset"
		clerk.Fix = "set CLERK_WEBHOOK_SECRET to the signing secret of the Clerk webhook endpoint (whsec_…)"
	case !strings.HasPrefix(s, "whsec_") || !svixAccepts(s):
		clerk.Status, clerk.Observed = Fail, "set, but not whsec_ followed by base64"
		clerk.Fix = "set CLERK_WEBHOOK_SECRET to the signing secret exactly as Clerk shows it (whsec_…)"
	default:
		clerk.Status, clerk.Observed = Pass, "set, whsec_ + base64"
	}
	d.report.add(clerk)

	ic := Check{ID: "secret.intercom_webhook", Setting: "INTERCOM_WEBHOOK_SECRET",
		Assumption: "INTERCOM_WEBHOOK_SECRET is set",
		Service:    "the API checks Intercom's X-Hub-Signature with it"}
	switch {
	case cfg.IntercomWebhookSecret != "":
		ic.Status, ic.Observed = Pass, "set"
	case dev:
		ic.Status, ic.Observed = Warn, "unset; in development unsigned webhooks are accepted"
		ic.Fix = "set INTERCOM_WEBHOOK_SECRET to the Intercom app's client secret before leaving development"
	default:
		ic.Status, ic.Observed = Fail, "unset; outside development the API won't start"
		ic.Fix = "set INTERCOM_WEBHOOK_SECRET to the Intercom app's client secret (Developer Hub, Basic information)"
	}
	d.report.add(ic)

	lookup := Check{ID: "secret.lookup_api", Setting: "LOOKUP_API_TOKEN",
		Assumption: "LOOKUP_API_TOKEN is set",
		Service:    "POST /api/intercom/lookup-email requires it as bearer token"}
	switch {
	case cfg.LookupAPIToken != "":
		lookup.Status, lookup.Observed = Pass, "set"
	case dev:
		lookup.Status, lookup.Observed = Warn, "unset; in development the lookup is open to anyone"
		lookup.Fix = "set LOOKUP_API_TOKEN"
	default:
		lookup.Status, lookup.Observed = Warn, "unset; the lookup endpoint is off"
		lookup.Fix = "set LOOKUP_API_TOKEN if anything calls POST /api/intercom/lookup-email"
	}
	d.report.add(lookup)
}

// svixAccepts reports whether the API's Svix verifier takes the secret
// (it base64-decodes what follows whsec_); an empty key is no secret.
func svixAccepts(secret string) bool {
	if strings.TrimPrefix(secret, "whsec_") == "" {
		return false
	}
	_, err := svix.NewWebhook(secret)
	return err == nil
}
