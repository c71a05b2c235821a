package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/intercom-sync/intercom-sync/internal/intercom"
)

// Texts of the rows checkWrites adds.
const (
	leadAssumption    = "a lead keeps its external_id"
	leadService       = "nothing relies on it: invitees are users with external_id invitation_<id>; leads of earlier versions are found by their recorded id"
	lagAssumption     = "a new contact appears in search within a few minutes"
	lagService        = "a create search missed answers 409 naming the contact, which is then updated"
	cleanupAssumption = "the throwaway records are deleted"
	cleanupService    = "(doctor only) deleted even after a failure"
)

// inSizes are the IN searches tried, each sent whole as one search: the
// backfill's (intercom.MaxSearchINValues, Intercom's documented limit of
// filters per group) and the undocumented 150 earlier versions sent.
var inSizes = []int{intercom.MaxSearchPerPage, intercom.MaxSearchINValues}

func (d *doctor) checkWrites(ctx context.Context) {
	if d.me == nil {
		for _, n := range inSizes {
			d.skip(fmt.Sprintf("search.in_%d", n), inAssumption(n), inService(n), "the token does not work")
		}
		if d.opts.Write {
			d.skip("lead.external_id", leadAssumption, leadService, "the token does not work")
			d.skip("search.lag", lagAssumption, lagService, "the token does not work")
		}
		return
	}
	suffix := randomSuffix()
	if !d.opts.Write {
		// A search writes nothing: try the sizes with made-up ids.
		d.checkINSearches(ctx, suffix, "")
		d.skip("lead.external_id", leadAssumption, leadService, "needs --write")
		d.skip("search.lag", lagAssumption, lagService, "needs --write")
		return
	}

	var created []string // Intercom ids of the throwaway contacts
	defer func() { d.cleanup(ctx, created) }()

	userExt := Prefix + suffix + "-user"
	userEmail := userExt + "@example.com"
	user, err := d.create(ctx, intercom.Fields{"role": "user", "external_id": userExt, "email": userEmail,
		"name": "intercom-sync doctor"})
	createdAt := time.Now()
	if user != nil {
		created = append(created, user.ID)
	}

	leadExt := Prefix + suffix + "-lead"
	lead, leadErr := d.create(ctx, intercom.Fields{"role": "lead", "external_id": leadExt, "email": leadExt + "@example.com"})
	if lead != nil {
		created = append(created, lead.ID)
	}
	d.report.add(d.judgeLead(ctx, lead, leadErr, leadExt))

	if err != nil {
		d.report.add(Check{ID: "search.lag", Status: Fail, Assumption: lagAssumption, Service: lagService,
			Observed: "could not create the throwaway user: " + err.Error(),
			Fix:      "give the app permission to write users and companies (Developer Hub, Authentication)"})
		d.checkINSearches(ctx, suffix, "")
		return
	}
	d.report.add(d.measureLag(ctx, user.ID, userExt, userEmail, createdAt))
	if ctx.Err() != nil {
		for _, n := range inSizes {
			d.skip(fmt.Sprintf("search.in_%d", n), inAssumption(n), inService(n), "interrupted")
		}
		return
	}
	d.checkINSearches(ctx, suffix, userExt)
}

// create is POST /contacts. A 409 for our random external_id can only be
// the same create repeated by the patient client after a lost answer: it
// names our contact, which is then read back.
func (d *doctor) create(ctx context.Context, f intercom.Fields) (*intercom.Contact, error) {
	c, err := d.ic.CreateContact(ctx, f)
	if err == nil {
		return c, nil
	}
	if id, ok := intercom.ConflictID(err); ok && id != "" {
		return d.ic.GetContact(ctx, id)
	}
	return nil, err
}

func (d *doctor) judgeLead(ctx context.Context, lead *intercom.Contact, createErr error, ext string) Check {
	c := Check{ID: "lead.external_id", Assumption: leadAssumption, Service: leadService}
	if createErr != nil {
		c.Status, c.Observed = Pass, "creating a lead with an external_id was refused: "+createErr.Error()
		return c
	}
	got, err := d.ic.GetContact(ctx, lead.ID)
	if err != nil {
		c.Status, c.Observed = Warn, fmt.Sprintf("created lead %s, but could not read it back: %v", lead.ID, err)
		c.Fix = "run doctor --write again"
		return c
	}
	answered, kept := value(lead.ExternalID), value(got.ExternalID)
	c.Data = map[string]any{"kept": kept == ext, "role": got.Role, "create_answered": answered == ext, "id": got.ID}
	switch {
	case kept == ext && got.Role == "lead":
		c.Status = Pass
		c.Observed = "kept (read back by id)"
	case kept == ext:
		c.Status = Pass
		c.Observed = fmt.Sprintf("kept, but %s reads back with role %q, not lead", got.ID, got.Role)
	default:
		c.Status = Pass
		what := "none"
		if kept != "" {
			what = "another one"
		}
		c.Observed = fmt.Sprintf("dropped: lead %s reads back with %s (the create answered with %s)", got.ID, what,
			map[bool]string{true: "it", false: "none"}[answered == ext])
	}
	return c
}

func value(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// measureLag polls search until it shows the new user by external_id and
// by email, or SearchTimeout passes. The poll interval grows with the
// wait (a tenth of it, between 250 ms and 5 s): precise for short lags,
// few calls for long ones.
func (d *doctor) measureLag(ctx context.Context, id, ext, email string, createdAt time.Time) Check {
	c := Check{ID: "search.lag", Assumption: lagAssumption, Service: lagService}
	timeout := d.opts.SearchTimeout
	var byExt, byEmail time.Duration
	foundExt, foundEmail := false, false
	for {
		if !foundExt {
			found, err := d.ic.FindContactByExternalID(ctx, ext)
			if err != nil {
				return searchFailed(c, err)
			}
			if found != nil && found.ID == id {
				foundExt, byExt = true, time.Since(createdAt)
			}
		}
		if !foundEmail {
			list, err := d.ic.SearchContacts(ctx, intercom.Filter{Field: "email", Operator: "=", Value: email}, 5, "")
			if err != nil {
				return searchFailed(c, err)
			}
			for _, x := range list.Data {
				if x.ID == id {
					foundEmail, byEmail = true, time.Since(createdAt)
				}
			}
		}
		waited := time.Since(createdAt)
		if foundExt && foundEmail {
			break
		}
		if waited >= timeout {
			break
		}
		next := min(max(waited/10, 250*time.Millisecond), 5*time.Second, timeout-waited)
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			c.Status, c.Observed = Warn, fmt.Sprintf("interrupted after %s", round(waited))
			return c
		case <-t.C:
		}
	}
	c.Data = map[string]any{"timeout_seconds": timeout.Seconds(), "found_by_external_id": foundExt, "found_by_email": foundEmail}
	if foundExt {
		c.Data["lag_seconds"] = byExt.Seconds()
	}
	if foundEmail {
		c.Data["email_lag_seconds"] = byEmail.Seconds()
	}
	show := func(found bool, after time.Duration) string {
		if found {
			return "after " + round(after).String()
		}
		return "not within " + timeout.String()
	}
	c.Observed = fmt.Sprintf("found by external_id %s, by email %s", show(foundExt, byExt), show(foundEmail, byEmail))
	if foundExt && foundEmail {
		c.Status = Pass
	} else {
		c.Status = Warn
		c.Fix = "no setting; run with a longer --search-timeout to measure it. Meanwhile creates rely on the 409"
	}
	return c
}

func searchFailed(c Check, err error) Check {
	c.Status, c.Observed = Fail, "search failed: "+err.Error()
	c.Fix = "the sync searches contacts by external_id: give the app permission to read users, or run doctor again"
	return c
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

func inAssumption(n int) string {
	return fmt.Sprintf("search accepts external_id IN [%d ids]", n)
}

func inService(n int) string {
	if n == intercom.MaxSearchINValues {
		return fmt.Sprintf("the backfill searches %d external ids at a time, halving a batch answered 400", n)
	}
	return fmt.Sprintf("not used (undocumented size); the backfill sends %d", intercom.MaxSearchINValues)
}

// checkINSearches tries each of inSizes. include, if set, is the
// throwaway user's external_id, put first among made-up ones.
func (d *doctor) checkINSearches(ctx context.Context, suffix, include string) {
	results := make([]Check, len(inSizes))
	accepted := map[int]bool{}
	for i, n := range inSizes {
		ids := make([]string, 0, n)
		if include != "" {
			ids = append(ids, include)
		}
		for k := len(ids); k < n; k++ {
			ids = append(ids, fmt.Sprintf("%s%s-absent-%d", Prefix, suffix, k))
		}
		c := Check{ID: fmt.Sprintf("search.in_%d", n), Assumption: inAssumption(n), Service: inService(n),
			Data: map[string]any{"size": n}}
		found, err := d.searchIN(ctx, ids)
		if err != nil {
			c.Data["accepted"] = false
			if k, ok := intercom.KindOf(err); ok && k == intercom.KindClient {
				c.Observed = "refused: " + err.Error()
			} else {
				c.Observed = "failed: " + err.Error()
			}
			results[i] = c
			continue
		}
		accepted[n] = true
		c.Status, c.Data["accepted"] = Pass, true
		c.Observed = "accepted"
		if include != "" {
			hit := false
			for _, x := range found {
				hit = hit || value(x.ExternalID) == include
			}
			c.Data["found"] = hit
			if hit {
				c.Observed += ", found the throwaway user"
			} else {
				c.Observed += ", without the throwaway user (not yet in search)"
			}
		}
		results[i] = c
	}
	smallest := 0
	for _, n := range inSizes {
		if accepted[n] && (smallest == 0 || n < smallest) {
			smallest = n
		}
	}
	for i, n := range inSizes {
		c := &results[i]
		if accepted[n] {
			continue
		}
		if n == intercom.MaxSearchINValues {
			c.Status = Fail
			c.Fix = fmt.Sprintf("no setting: the backfill's searches (%d ids) would all be halved, down to one id a search", n)
			if smallest > 0 {
				c.Fix += fmt.Sprintf("; %d was accepted", smallest)
			}
		} else {
			c.Status = Warn
			c.Fix = "none needed: the service does not send this size"
		}
		if strings.HasPrefix(c.Observed, "failed") {
			c.Fix = "run doctor again; " + c.Fix
		}
	}
	for _, c := range results {
		d.report.add(c)
	}
}

// cleanup deletes the throwaway contacts, even when ctx was cancelled (the
// operator's Ctrl-C), and checks that they are gone.
func (d *doctor) cleanup(ctx context.Context, ids []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	c := Check{ID: "cleanup", Assumption: cleanupAssumption, Service: cleanupService}
	var left []string
	for _, id := range ids {
		err := d.ic.DeleteContact(ctx, id)
		if err != nil && !intercom.IsNotFound(err) {
			left = append(left, id+" ("+err.Error()+")")
			continue
		}
		if _, err := d.ic.GetContact(ctx, id); !intercom.IsNotFound(err) {
			left = append(left, id+" (still readable after the delete)")
		}
	}
	c.Data = map[string]any{"ids": ids, "left": len(left)}
	switch {
	case len(left) > 0:
		c.Status = Fail
		c.Observed = "not deleted: " + strings.Join(left, ", ")
		c.Fix = "delete these contacts in Intercom by hand (their external ids start with " + Prefix + ")"
	case len(ids) == 0:
		c.Status, c.Observed = Pass, "nothing was created"
	default:
		c.Status = Pass
		c.Observed = fmt.Sprintf("deleted %d contacts; GET answers 404", len(ids))
	}
	d.report.add(c)
}

// searchIN is one external_id IN search of exactly these ids (the client's
// ContactsByExternalIDs would split them into batches).
func (d *doctor) searchIN(ctx context.Context, ids []string) ([]intercom.Contact, error) {
	values := make([]any, len(ids))
	for i, id := range ids {
		values[i] = id
	}
	page, err := d.ic.SearchContacts(ctx, intercom.Filter{Field: "external_id", Operator: "IN", Value: values},
		intercom.MaxSearchPerPage, "")
	if err != nil {
		return nil, err
	}
	return page.Data, nil
}
