package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
)

// fields is a decoded JSON object body. Keeping the raw values lets handlers
// tell "absent" (leave unchanged) from "null" (clear) from a value, which is
// what Intercom's partial updates need.
type fields map[string]json.RawMessage

// parseFields decodes an object body. An empty body is an empty object
// (Intercom accepts e.g. POST /contacts/{id}/archive without a body).
func parseFields(body []byte) (fields, *apiError) {
	f := fields{}
	if len(bytes.TrimSpace(body)) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(body, &f); err != nil || f == nil {
		return nil, badRequest("Request body is not a valid JSON object")
	}
	return f, nil
}

func (f fields) has(k string) bool {
	_, ok := f[k]
	return ok
}

func (f fields) isNull(k string) bool {
	v, ok := f[k]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// str returns a string field. present is false when absent; a JSON null is
// present with value "".
func (f fields) str(k string) (val string, present bool, err *apiError) {
	raw, ok := f[k]
	if !ok {
		return "", false, nil
	}
	if f.isNull(k) {
		return "", true, nil
	}
	if err := json.Unmarshal(raw, &val); err != nil {
		return "", true, paramInvalid(fmt.Sprintf("%s must be a string", k))
	}
	return val, true, nil
}

// integer returns an integer field; floats are truncated like Intercom does
// for monthly_spend. null is present with value 0.
func (f fields) integer(k string) (val int64, present bool, err *apiError) {
	raw, ok := f[k]
	if !ok {
		return 0, false, nil
	}
	if f.isNull(k) {
		return 0, true, nil
	}
	var n json.Number
	if e := json.Unmarshal(raw, &n); e != nil {
		return 0, true, paramInvalid(fmt.Sprintf("%s must be a number", k))
	}
	if i, e := n.Int64(); e == nil {
		return i, true, nil
	}
	fl, e := n.Float64()
	if e != nil || math.IsInf(fl, 0) || math.IsNaN(fl) {
		return 0, true, paramInvalid(fmt.Sprintf("%s must be a number", k))
	}
	return int64(fl), true, nil
}

func (f fields) boolean(k string) (val bool, present bool, err *apiError) {
	raw, ok := f[k]
	if !ok {
		return false, false, nil
	}
	if f.isNull(k) {
		return false, true, nil
	}
	if e := json.Unmarshal(raw, &val); e != nil {
		return false, true, paramInvalid(fmt.Sprintf("%s must be a boolean", k))
	}
	return val, true, nil
}

// attrs decodes a custom_attributes object. Values keep their JSON type;
// numbers become int64 when integral and float64 otherwise so that Go tests
// can compare them naturally. A null value stays nil and means "clear".
func (f fields) attrs(k string) (map[string]any, bool, *apiError) {
	raw, ok := f[k]
	if !ok {
		return nil, false, nil
	}
	if f.isNull(k) {
		return map[string]any{}, true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, true, paramInvalid(fmt.Sprintf("%s must be an object", k))
	}
	for name, v := range m {
		switch x := v.(type) {
		case nil, string, bool:
		case json.Number:
			m[name] = normaliseNumber(x)
		default:
			return nil, true, paramInvalid(fmt.Sprintf("Custom attribute '%s' must be a string, number or boolean", name))
		}
	}
	return m, true, nil
}

func normaliseNumber(n json.Number) any {
	if i, err := n.Int64(); err == nil {
		return i
	}
	if f, err := n.Float64(); err == nil {
		return f
	}
	return n.String()
}

// decodeAny decodes JSON keeping numbers as int64/float64 (see attrs).
func decodeAny(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return normaliseValue(v), nil
}

func normaliseValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		return normaliseNumber(x)
	case []any:
		for i := range x {
			x[i] = normaliseValue(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normaliseValue(x[k])
		}
	}
	return v
}

// toFloat converts a decoded JSON number (or numeric string) to float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// idBody parses a body whose "id" names what to act on (a company to
// attach, a tag to apply); the caller decides what an empty id means.
func idBody(body []byte) (fields, string, *apiError) {
	f, err := parseFields(body)
	if err != nil {
		return nil, "", err
	}
	id, _, err := f.str("id")
	return f, id, err
}

// pageOf is the page (page, per_page query; per_page at most 150) of all,
// rendered, and its pages object.
func pageOf[T any](r *http.Request, all []T, defaultPerPage int64, render func(T) obj) ([]any, obj, *apiError) {
	page, perPage, err := pageParams(r, defaultPerPage, 150)
	if err != nil {
		return nil, nil, err
	}
	start, end, totalPages := pageBounds(len(all), page, perPage)
	data := make([]any, 0, end-start)
	for _, x := range all[start:end] {
		data = append(data, render(x))
	}
	return data, obj{"type": "pages", "page": page, "per_page": perPage, "total_pages": totalPages}, nil
}

// contactAndID reads a contact-scoped {"id": …} request (attach a company,
// tag a contact): the visible contact of the path, and the id of the what
// to attach.
func (s *Server) contactAndID(c *call, what string) (*Contact, string, *apiError) {
	ct := s.visibleContact(c.r.PathValue("contact_id"))
	if ct == nil {
		return nil, "", errUserNotFound()
	}
	_, id, err := idBody(c.body)
	if err != nil {
		return nil, "", err
	}
	if id == "" {
		return nil, "", paramNotFound(what + " not specified")
	}
	return ct, id, nil
}
