package e2e

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/searchattr"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// The support engineer's searches: every sync of a user by Clerk id, and
// by the Intercom contact it wrote; registration is idempotent.
func TestSyncsAreFindableBySearchAttributes(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	if added, err := searchattr.Register(context.Background(), s.temporal, testenv.TemporalNamespace()); err != nil || len(added) != 0 {
		t.Fatalf("second registration added %v, %v; want nothing", added, err)
	}
	user := clerksim.User{ID: s.id("user", "sa"), Email: "sa@example.com", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	org := clerksim.Org{ID: s.id("org", "sa"), Name: "SA", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	s.send("1", clerksim.UserEvent(clerk.UserCreated, user))
	s.send("2", clerksim.OrgEvent(clerk.OrgCreated, org))
	s.waitIdle(idle, workflows.UserWorkflowID(user.ID), workflows.OrgWorkflowID(org.ID))
	contactID := s.contact(user.ID).ID

	for _, q := range []struct{ query, wantID string }{
		{fmt.Sprintf("ClerkUserID = '%s'", user.ID), workflows.UserWorkflowID(user.ID)},
		{fmt.Sprintf("IntercomContactID = '%s'", contactID), workflows.UserWorkflowID(user.ID)},
		{fmt.Sprintf("ClerkOrgID = '%s' AND SyncKind = 'org'", org.ID), workflows.OrgWorkflowID(org.ID)},
	} {
		deadline := time.Now().Add(10 * time.Second) // visibility is eventually consistent
		for {
			resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: q.query})
			if err != nil {
				t.Fatalf("%s: %v", q.query, err)
			}
			if len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == q.wantID {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s found %d runs, want %s", q.query, len(resp.Executions), q.wantID)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	d, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflows.UserWorkflowID(user.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.GetExecutionConfig().GetUserMetadata().GetSummary(); got == nil || len(got.GetData()) == 0 {
		t.Fatalf("no summary on the workflow: %v", d.GetExecutionConfig())
	}
}

// Search attributes bypass every codec (Temporal indexes them in the
// clear), so they must never hold an email: after the flows that carry
// personal data (a user created with an email and updated, an invitation,
// an enrichment), no search attribute of any of their workflows holds an
// '@' or any of the test's personal values.
func TestSearchAttributesNeverHoldAnEmail(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	f := runPersonalDataFlows(s)
	for _, wfID := range f.workflowIDs {
		d, err := s.temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
		if err != nil {
			t.Fatalf("describe %s: %v", wfID, err)
		}
		fields := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
		if _, ok := fields[searchattr.SyncKind.GetName()]; !ok {
			t.Errorf("%s has no %s search attribute: %v", wfID, searchattr.SyncKind.GetName(), fields)
		}
		for name, p := range fields {
			if bytes.Contains(p.GetData(), []byte("@")) {
				t.Errorf("%s: search attribute %s = %s holds an '@'", wfID, name, p.GetData())
			}
			if leaked := f.leaks(p.GetData()); len(leaked) > 0 {
				t.Errorf("%s: search attribute %s holds %v", wfID, name, leaked)
			}
		}
	}
}
