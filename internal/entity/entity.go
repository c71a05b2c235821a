// Package entity names the kinds of Clerk entity the service syncs, the
// one vocabulary of the code base. Each boundary spells a kind its own way
// (a table's rows, a search attribute's value, a backfill phase); every
// spelling is defined here, once, so that none can drift from the others.
package entity

import "fmt"

// Kind is a kind of Clerk entity (the EntityKind). Its value is the
// kind's name in JSON: backfill changes and failures carry it, so it
// must not change or recorded histories stop replaying.
type Kind string

const (
	User         Kind = "user"
	Organization Kind = "organization"
	Invitation   Kind = "invitation"
)

// Kinds are every kind, in the order a backfill walks them: companies
// first, so contacts can be attached to them; invitations last, after the
// users that may take their contacts over.
var Kinds = []Kind{Organization, User, Invitation}

// Record is the Intercom record that mirrors the kind, as the
// sync_state.entity_kind column holds it: a user's contact, an
// organization's company, an invitation's invited contact.
func (k Kind) Record() string {
	switch k {
	case User:
		return "contact"
	case Organization:
		return "company"
	default:
		return string(k)
	}
}

// SearchValue is the kind's value of the SyncKind search attribute on its
// sync workflows (Temporal visibility queries use it: SyncKind = "org").
func (k Kind) SearchValue() string {
	if k == Organization {
		return "org"
	}
	return string(k)
}

// Plural names the kind's backfill phase and its table ("organizations").
func (k Kind) Plural() string { return string(k) + "s" }

// FromPlural is the kind of a backfill phase.
func FromPlural(phase string) (Kind, error) {
	for _, k := range Kinds {
		if k.Plural() == phase {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown entity kind %q (want organizations, users or invitations)", phase)
}
