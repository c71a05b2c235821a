package doctor

import (
	"strings"

	svix "github.com/svix/svix-webhooks/go"
)

// checkSecrets reports the webhook secrets as set or unset, and whether the
// Clerk secret is well formed. Values are never printed.
func (d *doctor) checkSecrets() {
	cfg := d.cfg

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

	// An endpoint without its secret answers 503 "<SETTING> not
	// configured", in every environment: never open.
	d.report.add(endpointSecret(Check{ID: "secret.intercom_webhook", Setting: "INTERCOM_WEBHOOK_SECRET",
		Assumption: "INTERCOM_WEBHOOK_SECRET is set",
		Service:    "the API checks Intercom's X-Hub-Signature with it"}, cfg.IntercomWebhookSecret, Fail,
		"POST /api/intercom/webhook answers 503 (no enrichment, no tag re-sync)",
		"set INTERCOM_WEBHOOK_SECRET to the Intercom app's client secret (Developer Hub, Basic information)"))
	d.report.add(endpointSecret(Check{ID: "secret.lookup_api", Setting: "LOOKUP_API_TOKEN",
		Assumption: "LOOKUP_API_TOKEN is set",
		Service:    "POST /api/intercom/lookup-email requires it as bearer token"}, cfg.LookupAPIToken, Warn,
		"POST /api/intercom/lookup-email answers 503",
		"set LOOKUP_API_TOKEN if anything calls POST /api/intercom/lookup-email"))
}

// endpointSecret fills in the row of an endpoint's secret: set, or unset
// with what the endpoint does without it.
func endpointSecret(c Check, value string, unset Status, without, fix string) Check {
	if value != "" {
		c.Status, c.Observed = Pass, "set"
		return c
	}
	c.Status, c.Observed, c.Fix = unset, "unset; "+without, fix
	return c
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
