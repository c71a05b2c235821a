// Package contract checks HTTP traffic against Intercom's official OpenAPI
// description of REST API 2.11 (testdata/api.intercom.io-2.11.yaml, MIT
// licensed by Intercom, see testdata/LICENSE).
//
// It is meant for tests: NewValidatingTransport wraps an http.RoundTripper so
// that every request our code sends and every response it receives (from the
// local emulator or a fake) is validated against the spec, and failures are
// reported through testing.TB.
//
// The upstream file is embedded byte for byte. A few defects of the upstream
// file are worked around in memory only (see loadSpec and relaxations below);
// the file itself is never edited.
package contract

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specYAML is Intercom's OpenAPI 2.11 description, copied byte for byte from
// intercom/Intercom-OpenAPI@8889625a descriptions/2.11/api.intercom.io.yaml.
//
//go:embed testdata/api.intercom.io-2.11.yaml
var specYAML []byte

// licenseText is the MIT notice that must travel with any copy of the spec.
//
//go:embed testdata/LICENSE
var licenseText []byte

// License returns the MIT licence text of the embedded spec.
func License() string { return string(licenseText) }

// SpecYAML returns the embedded spec file, unmodified.
func SpecYAML() []byte { return bytes.Clone(specYAML) }

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// Spec returns the parsed (and in-memory patched) spec. It is loaded once per
// process; callers must treat the result as read-only because it is shared.
func Spec() (*openapi3.T, error) {
	loadOnce()
	return specDoc, specErr
}

// router returns a gorillamux router over the spec that matches requests to
// any host (see loadOnce).
func router() (routers.Router, error) {
	loadOnce()
	return specRouter, specErr
}

func loadOnce() {
	specOnce.Do(func() {
		specDoc, specErr = loadSpec()
		if specErr != nil {
			return
		}
		// The spec's servers are https://api.intercom.io (and the EU/AU
		// hosts). Tests talk to an emulator on http://127.0.0.1:<port>, so a
		// router built from the real servers would never match. A router
		// built from a shallow copy without servers matches by path only,
		// which is all we need; the copy shares paths and components with
		// specDoc, so routes still point into the same schemas.
		routed := *specDoc
		routed.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(&routed)
		if specErr != nil {
			specErr = fmt.Errorf("contract: build router: %w", specErr)
		}
	})
}

// customAttributesPatch defines the schema that upstream commit 5aa0b4b
// removed from 2.11 while four schemas still reference it (README defect 1).
// Without it the loader fails with `failed to resolve "custom_attributes"`.
const (
	componentsAnchor      = "components:\n  schemas:\n"
	customAttributesPatch = "    custom_attributes:\n      type: object\n      additionalProperties: true\n"
)

func loadSpec() (*openapi3.T, error) {
	idx := bytes.Index(specYAML, []byte(componentsAnchor))
	if idx < 0 {
		return nil, fmt.Errorf("contract: %q not found in embedded spec", componentsAnchor)
	}
	cut := idx + len(componentsAnchor)
	patched := make([]byte, 0, len(specYAML)+len(customAttributesPatch))
	patched = append(patched, specYAML[:cut]...)
	patched = append(patched, customAttributesPatch...)
	patched = append(patched, specYAML[cut:]...)

	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(patched)
	if err != nil {
		return nil, fmt.Errorf("contract: load spec: %w", err)
	}
	// doc.Validate() is deliberately skipped: it fails on an unrelated
	// upstream schema (convert_conversation_to_ticket_request, an anyOf array
	// without items; README defect 2) and request/response validation works
	// without it.
	if err := relax(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// relax applies the few schema relaxations that cannot be avoided by making
// the emulator emit more fields. Each one is a place where the 2.11 file
// contradicts how Intercom really behaves; everything else is validated as
// written.
func relax(doc *openapi3.T) error {
	schemas := doc.Components.Schemas
	// Company custom attributes are declared as a map of strings, both in
	// the `company` response and in `create_or_update_company_request`.
	// Intercom's company data attributes can be integer, float, boolean or
	// date (POST /data_attributes accepts those types for model=company),
	// and their values are sent and returned with that JSON type. Keeping
	// "string only" would reject every correct use of a non-string company
	// attribute, so values of any JSON type are allowed here.
	for _, name := range []string{"company", "create_or_update_company_request"} {
		ref := schemas[name]
		if ref == nil || ref.Value == nil {
			return fmt.Errorf("contract: schema %q missing", name)
		}
		ca := ref.Value.Properties["custom_attributes"]
		if ca == nil || ca.Value == nil {
			return fmt.Errorf("contract: schema %q has no custom_attributes", name)
		}
		// Replace rather than mutate: the property schema may be shared.
		relaxed := openapi3.NewObjectSchema()
		allow := true
		relaxed.AdditionalProperties = openapi3.AdditionalProperties{Has: &allow}
		ref.Value.Properties["custom_attributes"] = openapi3.NewSchemaRef("", relaxed)
	}

	// POST /tags takes oneOf [create_or_update_tag_request,
	// tag_company_request, untag_company_request, tag_multiple_users_request].
	// The first only requires `name` and allows extra properties, so every
	// company or users payload also matches it, and `oneOf` fails with
	// "matches more than one". Only {"name"} alone passes as written.
	// anyOf keeps each branch's own checks without demanding exclusivity.
	op := doc.Paths.Value("/tags").GetOperation("POST")
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return fmt.Errorf("contract: POST /tags has no request body")
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil || len(mt.Schema.Value.OneOf) == 0 {
		return fmt.Errorf("contract: POST /tags body is not a oneOf")
	}
	anyOf := &openapi3.Schema{AnyOf: mt.Schema.Value.OneOf}
	mt.Schema = openapi3.NewSchemaRef("", anyOf)
	return nil
}
