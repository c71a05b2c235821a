// Package config loads the service's settings with viper: environment
// variables (the names in the README), an optional config file and flags.
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/intercom-sync/intercom-sync/internal/members"
	"github.com/intercom-sync/intercom-sync/internal/payloadcrypt"
)

// Config is every setting the binary reads. Field comments name the
// environment variable.
type Config struct {
	HTTPAddr string // HTTP_ADDR
	// InternalHTTPAddr, if set, moves the lookup and /metrics off
	// HTTP_ADDR onto this listener (INTERNAL_HTTP_ADDR); unset, HTTP_ADDR
	// serves everything.
	InternalHTTPAddr string
	// HTTP server limits (HTTP_READ_HEADER_TIMEOUT, HTTP_READ_TIMEOUT,
	// HTTP_WRITE_TIMEOUT, HTTP_IDLE_TIMEOUT, HTTP_MAX_HEADER_BYTES,
	// HTTP_MAX_IN_FLIGHT).
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	HTTPWriteTimeout      time.Duration
	HTTPIdleTimeout       time.Duration
	HTTPMaxHeaderBytes    int
	HTTPMaxInFlight       int
	TemporalAddress       string // TEMPORAL_ADDRESS
	TemporalNamespace     string // TEMPORAL_NAMESPACE
	TaskQueue             string // TEMPORAL_TASK_QUEUE: workflows and database activities
	// TLS to Temporal (internal/temporalclient turns these into the
	// client's connection options). TemporalTLS is resolved at Load: true
	// when TEMPORAL_TLS=true or any of the others is set. Cert, key and CA
	// are each a PEM file path or the PEM itself.
	TemporalTLS           bool   // TEMPORAL_TLS
	TemporalTLSCert       string // TEMPORAL_TLS_CERT
	TemporalTLSKey        string // TEMPORAL_TLS_KEY
	TemporalTLSCA         string // TEMPORAL_TLS_CA
	TemporalTLSServerName string // TEMPORAL_TLS_SERVER_NAME
	TemporalAPIKey        string // TEMPORAL_API_KEY (Temporal Cloud)
	// IntercomTaskQueue carries every activity that calls Intercom, so the
	// fleet-wide rate cap applies to Intercom calls only.
	IntercomTaskQueue string // INTERCOM_TASK_QUEUE (default <TEMPORAL_TASK_QUEUE>-intercom)

	DatabaseURL string // DATABASE_URL

	IntercomAccessToken        string // INTERCOM_ACCESS_TOKEN
	IntercomAPIBaseURL         string // INTERCOM_API_BASE_URL
	IntercomRateLimitPerMinute int    // INTERCOM_RATE_LIMIT_PER_MINUTE
	IntercomTimeout            time.Duration

	EnvironmentName    string // ENVIRONMENT_NAME
	ClerkWebhookSecret string // CLERK_WEBHOOK_SECRET

	MembersMySQLDSN      string // MEMBERS_MYSQL_DSN
	PositionsDatabaseURL string // POSITIONS_DATABASE_URL (default DATABASE_URL)
	// IntercomWebhookSecret is the Intercom app's client secret, the key of
	// X-Hub-Signature.
	IntercomWebhookSecret string // INTERCOM_WEBHOOK_SECRET
	LookupAPIToken        string // LOOKUP_API_TOKEN
	// Lookups per minute and burst for one token, per API process
	// (LOOKUP_RATE_LIMIT_PER_MINUTE, LOOKUP_RATE_LIMIT_BURST).
	LookupRateLimitPerMinute int
	LookupRateLimitBurst     int
	// MemberTypes is MEMBER_TYPE_MAP, parsed: status and membertypeid to
	// the member_type written to Intercom.
	MemberTypes members.TypeMap
	// ResyncTag is the conversation tag with which support agents ask for a
	// tag-based re-sync of the member (workflow TagResync).
	ResyncTag string // RESYNC_TAG
	// IntercomAdminID is the admin on whose behalf the re-sync removes its
	// tag; empty means the access token's own admin (GET /me).
	IntercomAdminID string // INTERCOM_ADMIN_ID

	// PayloadKeys is PAYLOAD_ENCRYPTION_KEYS, parsed: the first encrypts
	// every Temporal payload, all decrypt (internal/payloadcrypt). None:
	// payloads are stored in the clear (refused in production).
	PayloadKeys []payloadcrypt.Key
	// CodecAuthToken is the bearer token of the codec server (/codec).
	CodecAuthToken string // CODEC_AUTH_TOKEN
	// CodecCORSOrigins are the Temporal UI origins allowed to call /codec.
	CodecCORSOrigins []string // CODEC_CORS_ORIGINS

	MetricsAddr string // METRICS_ADDR (worker-only processes; the API serves /metrics itself)

	LogLevel  string // LOG_LEVEL
	LogFormat string // LOG_FORMAT: json or text
}

// Keys maps each config key to its environment variable and default. It is
// the single list the README table and the manifest test are checked against.
var Keys = []Key{
	{"http_addr", "HTTP_ADDR", ":8080", "address the HTTP API listens on"},
	{"internal_http_addr", "INTERNAL_HTTP_ADDR", "", "if set, the lookup and /metrics are served here and no longer on HTTP_ADDR, which keeps the webhooks and the probes (unset: everything on HTTP_ADDR)"},
	{"http_read_header_timeout", "HTTP_READ_HEADER_TIMEOUT", "10s", "time a client has to send the request headers"},
	{"http_read_timeout", "HTTP_READ_TIMEOUT", "30s", "time a client has to send the whole request, body included (a trickling body is cut off)"},
	{"http_write_timeout", "HTTP_WRITE_TIMEOUT", "30s", "time from the end of the request headers to the end of the answer; keep it above the handlers' 5 s Temporal budget"},
	{"http_idle_timeout", "HTTP_IDLE_TIMEOUT", "120s", "how long an idle keep-alive connection stays open"},
	{"http_max_header_bytes", "HTTP_MAX_HEADER_BYTES", "65536", "largest request header block, in bytes"},
	{"http_max_in_flight", "HTTP_MAX_IN_FLIGHT", "256", "requests served at once (probes and /metrics aside); over it: 503 with Retry-After"},
	{"temporal_address", "TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port"},
	{"temporal_namespace", "TEMPORAL_NAMESPACE", "default", "Temporal namespace"},
	{"temporal_task_queue", "TEMPORAL_TASK_QUEUE", "intercom-sync", "task queue for workflows and database activities"},
	{"temporal_tls", "TEMPORAL_TLS", "", "true: TLS to Temporal even without the settings below (system roots, no client certificate); unset: on when any of them is set"},
	{"temporal_tls_cert", "TEMPORAL_TLS_CERT", "", "client certificate for mTLS to Temporal: a PEM file path, or the PEM itself (needs TEMPORAL_TLS_KEY)"},
	{"temporal_tls_key", "TEMPORAL_TLS_KEY", "", "private key of TEMPORAL_TLS_CERT: a PEM file path, or the PEM itself"},
	{"temporal_tls_ca", "TEMPORAL_TLS_CA", "", "CA certificates that sign the Temporal server's certificate: a PEM file path, or the PEM itself (default: the system's roots)"},
	{"temporal_tls_server_name", "TEMPORAL_TLS_SERVER_NAME", "", "name the Temporal server's certificate must carry (default: the host of TEMPORAL_ADDRESS)"},
	{"temporal_api_key", "TEMPORAL_API_KEY", "", "Temporal Cloud API key, sent as authorization: Bearer; implies TLS"},
	{"intercom_task_queue", "INTERCOM_TASK_QUEUE", "", "task queue for Intercom activities (default <TEMPORAL_TASK_QUEUE>-intercom)"},
	{"database_url", "DATABASE_URL", "", "app Postgres URL (required)"},
	{"intercom_access_token", "INTERCOM_ACCESS_TOKEN", "", "Intercom access token (required by the worker)"},
	{"intercom_api_base_url", "INTERCOM_API_BASE_URL", "https://api.intercom.io", "Intercom API base URL"},
	{"intercom_rate_limit_per_minute", "INTERCOM_RATE_LIMIT_PER_MINUTE", "1000", "Intercom calls per minute for the whole fleet"},
	{"intercom_timeout", "INTERCOM_TIMEOUT", "20s", "timeout of one Intercom HTTP call"},
	{"environment_name", "ENVIRONMENT_NAME", "development", "written to Intercom as custom_attributes.environment; production refuses placeholder secrets at start (no effect on authentication)"},
	{"clerk_webhook_secret", "CLERK_WEBHOOK_SECRET", "", "Clerk (Svix) signing secret, whsec_… (required by the API)"},
	{"members_mysql_dsn", "MEMBERS_MYSQL_DSN", "", "member database, go-sql-driver DSN user:pass@tcp(host:3306)/db (required by the API and the worker)"},
	{"positions_database_url", "POSITIONS_DATABASE_URL", "", "Postgres URL of member_positions (default DATABASE_URL)"},
	{"intercom_webhook_secret", "INTERCOM_WEBHOOK_SECRET", "", "Intercom app client secret that signs X-Hub-Signature (unset: POST /api/intercom/webhook answers 503)"},
	{"lookup_api_token", "LOOKUP_API_TOKEN", "", "bearer token of POST /api/intercom/lookup-email (unset: the endpoint answers 503)"},
	{"lookup_rate_limit_per_minute", "LOOKUP_RATE_LIMIT_PER_MINUTE", "120", "lookups per minute one token may make, per API process; over it: 429 with Retry-After"},
	{"lookup_rate_limit_burst", "LOOKUP_RATE_LIMIT_BURST", "20", "lookups one token may make at once above the per-minute rate"},
	{"member_type_map", "MEMBER_TYPE_MAP", members.DefaultTypeMap, "member_type by status and membertypeid: STATUS:TYPEID=LABEL or STATUS:*=LABEL, comma-separated"},
	{"resync_tag", "RESYNC_TAG", "mynatca-sync", "conversation tag with which support agents ask for a re-sync of the member (matched case-insensitively)"},
	{"intercom_admin_id", "INTERCOM_ADMIN_ID", "", "Intercom admin that removes the re-sync tag (default: the access token's admin, from GET /me)"},
	{"payload_encryption_keys", "PAYLOAD_ENCRYPTION_KEYS", "", "AES-256 keys of the Temporal payloads, id:base64-of-32-bytes,…: the first encrypts, all decrypt (required in production)"},
	{"codec_auth_token", "CODEC_AUTH_TOKEN", "", "bearer token of POST /codec/encode and /codec/decode, the codec server of the Temporal UI and CLI (unset: /codec answers 503)"},
	{"codec_cors_origins", "CODEC_CORS_ORIGINS", DefaultCodecCORSOrigins, "comma-separated origins (scheme://host:port) of the Temporal UI allowed to call /codec"},
	{"metrics_addr", "METRICS_ADDR", ":9090", "where a worker-only process serves /metrics and /healthz"},
	{"log_level", "LOG_LEVEL", "info", "debug, info, warn, error"},
	{"log_format", "LOG_FORMAT", "json", "json or text"},
}

// Key describes one setting.
type Key struct {
	Name, Env, Default, Help string
}

// RegisterFlags adds a --flag for every key (e.g. --http-addr) plus
// --config for an optional config file.
func RegisterFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "optional config file (yaml, json, toml or env)")
	for _, k := range Keys {
		fs.String(strings.ReplaceAll(k.Name, "_", "-"), "", k.Help+" ["+k.Env+"]")
	}
}

// Load reads flags (highest precedence), then environment, then the config
// file, then defaults.
func Load(fs *pflag.FlagSet) (Config, error) {
	return load(fs, true)
}

// Defaults is the configuration with every key at its default, whatever
// the environment says: the start of a test's configuration.
func Defaults() Config {
	c, err := load(nil, false)
	if err != nil {
		panic(fmt.Sprintf("config: the defaults do not load: %v", err))
	}
	return c
}

func load(fs *pflag.FlagSet, fromEnv bool) (Config, error) {
	v := viper.New()
	for _, k := range Keys {
		v.SetDefault(k.Name, k.Default)
		if !fromEnv {
			continue
		}
		if err := v.BindEnv(k.Name, k.Env); err != nil {
			return Config{}, err
		}
		if fs != nil {
			if f := fs.Lookup(strings.ReplaceAll(k.Name, "_", "-")); f != nil && f.Changed {
				v.Set(k.Name, f.Value.String())
			}
		}
	}
	if fs != nil {
		if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
			v.SetConfigFile(f.Value.String())
			if err := v.ReadInConfig(); err != nil {
				return Config{}, fmt.Errorf("read config file: %w", err)
			}
		}
	}
	c := Config{
		HTTPAddr:                   v.GetString("http_addr"),
		InternalHTTPAddr:           strings.TrimSpace(v.GetString("internal_http_addr")),
		HTTPReadHeaderTimeout:      v.GetDuration("http_read_header_timeout"),
		HTTPReadTimeout:            v.GetDuration("http_read_timeout"),
		HTTPWriteTimeout:           v.GetDuration("http_write_timeout"),
		HTTPIdleTimeout:            v.GetDuration("http_idle_timeout"),
		HTTPMaxHeaderBytes:         v.GetInt("http_max_header_bytes"),
		HTTPMaxInFlight:            v.GetInt("http_max_in_flight"),
		TemporalAddress:            v.GetString("temporal_address"),
		TemporalNamespace:          v.GetString("temporal_namespace"),
		TaskQueue:                  v.GetString("temporal_task_queue"),
		IntercomTaskQueue:          v.GetString("intercom_task_queue"),
		TemporalTLSCert:            strings.TrimSpace(v.GetString("temporal_tls_cert")),
		TemporalTLSKey:             strings.TrimSpace(v.GetString("temporal_tls_key")),
		TemporalTLSCA:              strings.TrimSpace(v.GetString("temporal_tls_ca")),
		TemporalTLSServerName:      strings.TrimSpace(v.GetString("temporal_tls_server_name")),
		TemporalAPIKey:             strings.TrimSpace(v.GetString("temporal_api_key")),
		DatabaseURL:                v.GetString("database_url"),
		IntercomAccessToken:        v.GetString("intercom_access_token"),
		IntercomAPIBaseURL:         strings.TrimRight(v.GetString("intercom_api_base_url"), "/"),
		IntercomRateLimitPerMinute: v.GetInt("intercom_rate_limit_per_minute"),
		IntercomTimeout:            v.GetDuration("intercom_timeout"),
		EnvironmentName:            v.GetString("environment_name"),
		ClerkWebhookSecret:         v.GetString("clerk_webhook_secret"),
		MembersMySQLDSN:            v.GetString("members_mysql_dsn"),
		PositionsDatabaseURL:       v.GetString("positions_database_url"),
		IntercomWebhookSecret:      v.GetString("intercom_webhook_secret"),
		LookupAPIToken:             v.GetString("lookup_api_token"),
		LookupRateLimitPerMinute:   v.GetInt("lookup_rate_limit_per_minute"),
		LookupRateLimitBurst:       v.GetInt("lookup_rate_limit_burst"),
		ResyncTag:                  strings.TrimSpace(v.GetString("resync_tag")),
		IntercomAdminID:            strings.TrimSpace(v.GetString("intercom_admin_id")),
		CodecAuthToken:             v.GetString("codec_auth_token"),
		CodecCORSOrigins:           splitList(v.GetString("codec_cors_origins")),
		MetricsAddr:                v.GetString("metrics_addr"),
		LogLevel:                   v.GetString("log_level"),
		LogFormat:                  v.GetString("log_format"),
	}
	if c.IntercomTaskQueue == "" {
		c.IntercomTaskQueue = c.TaskQueue + "-intercom"
	}
	if c.PositionsDatabaseURL == "" {
		c.PositionsDatabaseURL = c.DatabaseURL
	}
	if err := c.resolveTemporalTLS(v.GetString("temporal_tls")); err != nil {
		return c, err
	}
	keys, err := payloadcrypt.ParseKeys(v.GetString("payload_encryption_keys"))
	if err != nil {
		// The error names an id or a position, never key material.
		return c, fmt.Errorf("PAYLOAD_ENCRYPTION_KEYS: %w", err)
	}
	c.PayloadKeys = keys
	types, err := members.ParseTypeMap(v.GetString("member_type_map"))
	if err != nil {
		return c, fmt.Errorf("MEMBER_TYPE_MAP: %w", err)
	}
	c.MemberTypes = types
	if c.ResyncTag == "" {
		// An empty tag would match no tag at all and silently turn the
		// re-sync off.
		return c, errors.New("RESYNC_TAG must not be empty")
	}
	if c.IntercomRateLimitPerMinute <= 0 {
		return c, errors.New("INTERCOM_RATE_LIMIT_PER_MINUTE must be a positive number")
	}
	if c.IntercomTimeout <= 0 {
		return c, errors.New("INTERCOM_TIMEOUT must be a positive duration")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"HTTP_READ_HEADER_TIMEOUT", c.HTTPReadHeaderTimeout}, {"HTTP_READ_TIMEOUT", c.HTTPReadTimeout},
		{"HTTP_WRITE_TIMEOUT", c.HTTPWriteTimeout}, {"HTTP_IDLE_TIMEOUT", c.HTTPIdleTimeout}} {
		// Zero would mean "no limit" to net/http: never by accident.
		if d.v <= 0 {
			return c, fmt.Errorf("%s must be a positive duration (e.g. 30s)", d.name)
		}
	}
	if c.HTTPMaxHeaderBytes <= 0 {
		return c, errors.New("HTTP_MAX_HEADER_BYTES must be a positive number")
	}
	if c.LookupRateLimitPerMinute <= 0 || c.LookupRateLimitBurst <= 0 {
		// Zero would refuse every lookup; no limit is not on offer.
		return c, errors.New("LOOKUP_RATE_LIMIT_PER_MINUTE and LOOKUP_RATE_LIMIT_BURST must be positive numbers")
	}
	if c.InternalHTTPAddr != "" && c.InternalHTTPAddr == c.HTTPAddr {
		return c, errors.New("INTERNAL_HTTP_ADDR must differ from HTTP_ADDR (unset it to serve everything on HTTP_ADDR)")
	}
	if c.HTTPMaxInFlight <= 0 {
		return c, errors.New("HTTP_MAX_IN_FLIGHT must be a positive number")
	}
	return c, nil
}

// DefaultCodecCORSOrigins are the origins of the local Temporal UI
// (`temporal server start-dev`).
const DefaultCodecCORSOrigins = "http://127.0.0.1:8233,http://localhost:8233"

// splitList reads a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Development reports whether ENVIRONMENT_NAME is "development" (local
// runs). It opens nothing: every endpoint authenticates in every
// environment.
func (c Config) Development() bool { return c.EnvironmentName == DevelopmentEnvironment }

// DevelopmentEnvironment is the ENVIRONMENT_NAME of local runs.
const DevelopmentEnvironment = "development"

// ProductionEnvironment is the ENVIRONMENT_NAME under which placeholder
// secrets are refused at start.
const ProductionEnvironment = "production"

// Production reports whether ENVIRONMENT_NAME is "production" (in any case).
func (c Config) Production() bool {
	return strings.EqualFold(strings.TrimSpace(c.EnvironmentName), ProductionEnvironment)
}

// Placeholder is the marker of a value not filled in yet
// (deploy/k8s/base/secret.example.yaml).
const Placeholder = "CHANGE-ME"

// DevSecrets are the fixed, public secrets of `make run`
// (deploy/local/run.sh) and the README's examples, by setting. They sign
// and authenticate local requests only: production refuses every one of
// them, in any setting.
var DevSecrets = map[string]string{
	"CLERK_WEBHOOK_SECRET":    "whsec_aW50ZXJjb20tc3luYy1sb2NhbC1kZXYtc2VjcmV0ISE=",
	"INTERCOM_WEBHOOK_SECRET": "dev-intercom-client-secret",
	"LOOKUP_API_TOKEN":        "dev-lookup-token",
	"INTERCOM_ACCESS_TOKEN":   "dev-token", // the emulator's
}

// secrets are the settings that hold a credential, with their values.
func (c Config) secrets() [][2]string {
	return [][2]string{
		{"DATABASE_URL", c.DatabaseURL},
		{"POSITIONS_DATABASE_URL", c.PositionsDatabaseURL},
		{"MEMBERS_MYSQL_DSN", c.MembersMySQLDSN},
		{"INTERCOM_ACCESS_TOKEN", c.IntercomAccessToken},
		{"CLERK_WEBHOOK_SECRET", c.ClerkWebhookSecret},
		{"INTERCOM_WEBHOOK_SECRET", c.IntercomWebhookSecret},
		{"LOOKUP_API_TOKEN", c.LookupAPIToken},
		{"TEMPORAL_API_KEY", c.TemporalAPIKey},
		{"TEMPORAL_TLS_KEY", c.TemporalTLSKey},
		{"CODEC_AUTH_TOKEN", c.CodecAuthToken},
	}
}

// CheckPlaceholders refuses, when ENVIRONMENT_NAME is production, any
// credential that contains CHANGE-ME or is one of the DevSecrets, and a
// start without PAYLOAD_ENCRYPTION_KEYS (members' emails would be stored
// readable in Temporal). The error names the settings, never their values.
func (c Config) CheckPlaceholders() error {
	if !c.Production() {
		return nil
	}
	if len(c.PayloadKeys) == 0 {
		return errors.New("ENVIRONMENT_NAME=production requires PAYLOAD_ENCRYPTION_KEYS: Temporal payloads hold members' emails and must be encrypted")
	}
	dev := map[string]bool{}
	for _, v := range DevSecrets {
		dev[v] = true
	}
	var bad []string
	for _, s := range c.secrets() {
		v := strings.TrimSpace(s[1])
		if v == "" {
			continue
		}
		if strings.Contains(strings.ToUpper(v), Placeholder) || dev[v] {
			bad = append(bad, s[0])
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("ENVIRONMENT_NAME=production refuses placeholder or development secrets (%s or a value from deploy/local/run.sh) in: %s",
			Placeholder, strings.Join(bad, ", "))
	}
	return nil
}

// Require returns an error naming every listed setting that is empty.
func (c Config) Require(envNames ...string) error {
	values := map[string]string{
		"DATABASE_URL":            c.DatabaseURL,
		"INTERCOM_ACCESS_TOKEN":   c.IntercomAccessToken,
		"CLERK_WEBHOOK_SECRET":    c.ClerkWebhookSecret,
		"TEMPORAL_ADDRESS":        c.TemporalAddress,
		"MEMBERS_MYSQL_DSN":       c.MembersMySQLDSN,
		"POSITIONS_DATABASE_URL":  c.PositionsDatabaseURL,
		"INTERCOM_WEBHOOK_SECRET": c.IntercomWebhookSecret,
		"LOOKUP_API_TOKEN":        c.LookupAPIToken,
	}
	var missing []string
	for _, n := range envNames {
		if values[n] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required configuration: %s", strings.Join(missing, ", "))
	}
	return nil
}
