package emulator

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// builtinAttributes are a representative subset of the standard attributes
// Intercom lists next to custom ones (the company ones are the spec's
// GET /data_attributes example). They have no id and custom=false; their
// names are taken, so a custom attribute cannot reuse them unless
// Loose.AnyAttributeName.
func builtinAttributes() []*DataAttribute {
	std := func(model, name, fullName, label, desc, typ string, apiWritable bool) *DataAttribute {
		return &DataAttribute{Model: model, Name: name, FullName: fullName, Label: label, Description: desc,
			DataType: typ, APIWritable: apiWritable, MessengerWritable: true}
	}
	return []*DataAttribute{
		std("contact", "name", "name", "Name", "A person's full name", "string", true),
		std("contact", "email", "email", "Email", "A person's email address", "string", true),
		std("contact", "phone", "phone", "Phone", "A person's phone number", "string", true),
		std("contact", "external_id", "external_id", "User ID", "A number identifying a user", "string", true),
		std("contact", "owner_id", "owner_id", "Owner", "The teammate who owns a person", "integer", true),
		std("contact", "signed_up_at", "signed_up_at", "Signed up", "The time a person signed up", "date", true),
		std("contact", "last_seen_at", "last_seen_at", "Last seen", "The last time a person was seen", "date", true),
		std("contact", "created_at", "created_at", "First seen", "The time a person was first seen", "date", false),
		std("contact", "id", "id", "ID", "The Intercom defined id representing a person", "string", false),
		std("contact", "role", "role", "Role", "Whether a person is a user or a lead", "string", false),
		std("contact", "updated_at", "updated_at", "Updated at", "The last time a person was updated", "date", false),
		std("contact", "unsubscribed_from_emails", "unsubscribed_from_emails", "Unsubscribed from emails",
			"Whether a person has unsubscribed from emails", "boolean", true),
		std("company", "name", "name", "Company name", "The name of a company", "string", true),
		std("company", "company_id", "company_id", "Company ID", "A number identifying a company", "string", false),
		std("company", "last_request_at", "last_request_at", "Company last seen",
			"The last day anyone from a company visited your site or app", "date", false),
		std("company", "remote_created_at", "remote_created_at", "Company created at",
			"The day a company was added to Intercom", "date", true),
		std("company", "user_count", "user_count", "People", "The number of people in a company", "integer", false),
		std("company", "session_count", "session_count", "Company web sessions",
			"All visits from anyone in a company to your product's site or app", "integer", false),
		std("company", "name", "plan.name", "Plan",
			"A specific plan or level within your product that companies have signed up to", "string", false),
		std("company", "monthly_spend", "monthly_spend", "Monthly Spend",
			"The monthly revenue you receive from a company", "float", true),
		std("company", "size", "size", "Company size", "The number of people employed in this company", "integer", true),
		std("company", "website", "website", "Company website", "The URL for this company's website", "string", true),
		std("company", "industry", "industry", "Company industry", "The category or domain this company belongs to", "string", true),
		std("company", "id", "id", "ID", "The Intercom defined id representing the company", "string", false),
		std("company", "created_at", "created_at", "Created at", "The time the company was added to Intercom", "date", false),
		std("company", "updated_at", "updated_at", "Updated at", "The last time the company was updated", "date", false),
		std("company", "id", "plan.id", "Plan ID", "The Intercom defined id representing the plan", "string", false),
		std("company", "app_id", "app_id", "App ID", "The Intercom defined id representing the app", "string", false),
	}
}

// findAttr looks an attribute up by model and name, case-insensitively
// since Intercom refuses names that differ only in case.
func (st *store) findAttr(model, name string, custom bool) *DataAttribute {
	for _, a := range st.attrs {
		if a.Model == model && a.Custom == custom && strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// checkCustomAttributes rejects custom attributes that have not been
// defined for the model. Intercom does this (for contacts, companies and
// conversations), so a sync must create its data attributes before writing
// them; the emulator enforces it so tests can prove that order.
func (s *Server) checkCustomAttributes(model string, attrs map[string]any) *apiError {
	for name := range attrs {
		// Exact match: the key is stored as sent, so "Plan" must not pass
		// for an attribute named "plan" (creation, by contrast, refuses
		// names that differ only in case).
		if a := s.st.findAttr(model, name, true); a == nil || a.Name != name {
			return &apiError{status: http.StatusBadRequest, code: "parameter_invalid",
				message: fmt.Sprintf("Custom attribute '%s' does not exist", name), field: "custom_attributes"}
		}
	}
	return nil
}

// listDataAttributes is GET /data_attributes?model=&include_archived=.
func (s *Server) listDataAttributes(c *call) (any, *apiError) {
	q := c.r.URL.Query()
	model := q.Get("model")
	switch model {
	case "", "contact", "company", "conversation":
	default:
		return nil, paramInvalid("The model field must be either contact, company or conversation")
	}
	includeArchived := false
	if v := q.Get("include_archived"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, paramInvalid("include_archived must be a boolean")
		}
		includeArchived = b
	}
	data := []any{}
	for _, a := range s.st.attrs {
		if model != "" && a.Model != model {
			continue
		}
		// The data_attribute schema only knows contact and company models;
		// conversation attributes are listed only when asked for.
		if model == "" && a.Model == "conversation" {
			continue
		}
		if a.Archived && !includeArchived {
			continue
		}
		data = append(data, renderDataAttribute(a))
	}
	return obj{"type": "list", "data": data}, nil
}

// attrNamePattern is Intercom's rule: "Your name for this attribute must
// only contain alphanumeric characters, currency symbols, and hyphens".
// Underscores and spaces are accepted too (the spec's examples use both);
// dots are not, since full_name is "custom_attributes.<name>".
var attrNamePattern = regexp.MustCompile(`^[\p{L}\p{N}\p{Sc} _-]+$`)

var dataTypes = map[string]bool{"string": true, "integer": true, "float": true, "boolean": true, "datetime": true, "date": true}

// createDataAttribute is POST /data_attributes.
func (s *Server) createDataAttribute(c *call) (any, *apiError) {
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	name, _, err := f.str("name")
	if err != nil {
		return nil, err
	}
	model, _, err := f.str("model")
	if err != nil {
		return nil, err
	}
	dataType, _, err := f.str("data_type")
	if err != nil {
		return nil, err
	}
	desc, _, err := f.str("description")
	if err != nil {
		return nil, err
	}
	messengerWritable, _, err := f.boolean("messenger_writable")
	if err != nil {
		return nil, err
	}
	var options []string
	if raw, ok := f["options"]; ok && !f.isNull("options") {
		opts, e := decodeAny(raw)
		list, isList := opts.([]any)
		if e != nil || !isList {
			return nil, paramInvalid("Options isn't an array")
		}
		for _, o := range list {
			switch x := o.(type) {
			case string:
				options = append(options, x)
			case map[string]any: // the docs' [{"value": "..."}] form
				if v, ok := x["value"].(string); ok {
					options = append(options, v)
				}
			}
		}
	}
	if model == "conversation" {
		// Conversation attributes exist in Intercom but 2.11 cannot create
		// them through this endpoint (model enum is contact|company).
		return nil, paramInvalid("The Data Attribute model field must be either contact or company")
	}
	a := &DataAttribute{Name: strings.TrimSpace(name), Model: model, DataType: dataType, Description: desc,
		Options: options, MessengerWritable: messengerWritable}
	if err := s.st.addCustomAttribute(a, c.now, s.opts.Loose.AnyAttributeName); err != nil {
		return nil, err
	}
	return renderDataAttribute(a), nil
}

// addCustomAttribute validates and stores a custom attribute, with
// Intercom's checks and messages. A name taken by a standard attribute of
// the model is refused like a taken custom one, unless standardNames.
func (st *store) addCustomAttribute(a *DataAttribute, now time.Time, standardNames bool) *apiError {
	if a.Name == "" {
		return paramNotFound("Name is a required parameter.")
	}
	if !attrNamePattern.MatchString(a.Name) {
		return paramInvalid("Your name for this attribute must only contain alphanumeric characters, currency symbols, and hyphens")
	}
	switch a.Model {
	case "contact", "company", "conversation":
		// conversation only arrives from AddDataAttribute; the handler
		// rejects it before calling this.
	default:
		return paramInvalid("The Data Attribute model field must be either contact or company")
	}
	if !dataTypes[a.DataType] {
		return paramInvalid("Data Type isn't an option")
	}
	// The data_attribute response schema has no "datetime": Intercom shows
	// datetime attributes as "date", so they are stored that way.
	if a.DataType == "datetime" {
		a.DataType = "date"
	}
	if len(a.Options) > 0 && a.DataType != "string" {
		return paramInvalid("List attributes must have the string data type")
	}
	if st.findAttr(a.Model, a.Name, true) != nil || (!standardNames && st.findAttr(a.Model, a.Name, false) != nil) {
		data := "people"
		if a.Model == "company" {
			data = "company"
		} else if a.Model == "conversation" {
			data = "conversation"
		}
		return paramInvalid(fmt.Sprintf("You already have '%s' in your %s data. To save this as new %s data, use a different name.", a.Name, data, data))
	}
	st.nextAttr++
	a.ID = st.nextAttr
	a.FullName = "custom_attributes." + a.Name
	if a.Label == "" {
		a.Label = a.Name
	}
	a.Custom = true
	a.APIWritable = true
	a.UIWritable = true
	a.Archived = false
	a.AdminID = AdminID
	a.CreatedAt = now.Unix()
	a.UpdatedAt = a.CreatedAt
	st.attrs = append(st.attrs, a)
	return nil
}

// AddDataAttribute defines a custom data attribute directly, e.g. one that
// an admin created in the Intercom UI before the sync ran. Model may also be
// "conversation". It returns the stored attribute.
func (s *Server) AddDataAttribute(a DataAttribute) (DataAttribute, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.Options = append([]string(nil), a.Options...)
	if err := s.st.addCustomAttribute(&a, s.now(), s.opts.Loose.AnyAttributeName); err != nil {
		return DataAttribute{}, err
	}
	return a.clone(), nil
}

// updateDataAttribute is PUT /data_attributes/{data_attribute_id}: only
// archived, description, options and messenger_writable may change; the
// data type never can.
func (s *Server) updateDataAttribute(c *call) (any, *apiError) {
	id, _ := strconv.ParseInt(c.r.PathValue("data_attribute_id"), 10, 64)
	var a *DataAttribute
	for _, x := range s.st.attrs {
		if x.Custom && x.ID == id {
			a = x
		}
	}
	if a == nil {
		return nil, &apiError{status: http.StatusNotFound, code: "field_not_found", message: "We couldn't find that data attribute to update"}
	}
	f, err := parseFields(c.body)
	if err != nil {
		return nil, err
	}
	if f.has("data_type") {
		return nil, paramInvalid("Data Type can't be changed")
	}
	next := a.clone()
	if v, ok, err := f.boolean("archived"); err != nil {
		return nil, err
	} else if ok {
		next.Archived = v
	}
	if v, ok, err := f.str("description"); err != nil {
		return nil, err
	} else if ok {
		next.Description = v
	}
	if v, ok, err := f.boolean("messenger_writable"); err != nil {
		return nil, err
	} else if ok {
		next.MessengerWritable = v
	}
	next.UpdatedAt = c.now.Unix()
	*a = next
	return renderDataAttribute(a), nil
}
