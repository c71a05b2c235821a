// Package searchattr defines the custom search attributes the service
// sets on its workflows — so a support engineer can find "every sync of
// this user" in the Temporal UI — and registers them in a namespace.
package searchattr

import (
	"context"
	"fmt"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// The keys. All are Keyword: matched exactly, e.g.
// ClerkUserID = "user_2rA7…" in the UI's search box.
var (
	SyncKind          = temporal.NewSearchAttributeKeyKeyword("SyncKind")          // user, org, invitation, enrich, tag-resync, backfill
	ClerkUserID       = temporal.NewSearchAttributeKeyKeyword("ClerkUserID")       // user syncs
	ClerkOrgID        = temporal.NewSearchAttributeKeyKeyword("ClerkOrgID")        // organization syncs and invitations
	ClerkInvitationID = temporal.NewSearchAttributeKeyKeyword("ClerkInvitationID") // invitation syncs
	IntercomContactID = temporal.NewSearchAttributeKeyKeyword("IntercomContactID") // the contact a sync wrote
)

// All lists every key with its type, for registration.
var All = map[string]enumspb.IndexedValueType{
	SyncKind.GetName():          enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	ClerkUserID.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	ClerkOrgID.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	ClerkInvitationID.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	IntercomContactID.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// Register adds whichever keys the namespace lacks and returns their names.
// Run again, it adds nothing: `intercom-sync migrate` calls it on every
// deploy. A key that exists with another type is an error, not silently
// reused.
func Register(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	existing, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range All {
		have, ok := existing.GetCustomAttributes()[name]
		if !ok {
			missing[name] = typ
			continue
		}
		if have != typ {
			return nil, fmt.Errorf("search attribute %s exists in namespace %s as %s, want %s", name, namespace, have, typ)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		// Another process may have registered them a moment ago.
		if again, listErr := c.OperatorService().ListSearchAttributes(ctx,
			&operatorservice.ListSearchAttributesRequest{Namespace: namespace}); listErr == nil && hasAll(again.GetCustomAttributes()) {
			return nil, nil
		}
		return nil, fmt.Errorf("add search attributes to namespace %s: %w", namespace, err)
	}
	names := make([]string, 0, len(missing))
	for n := range missing {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func hasAll(have map[string]enumspb.IndexedValueType) bool {
	for name, typ := range All {
		if have[name] != typ {
			return false
		}
	}
	return true
}
