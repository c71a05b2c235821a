package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"os/exec"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/intercom-sync/intercom-sync/internal/clerk"
	"github.com/intercom-sync/intercom-sync/internal/clerksim"
	"github.com/intercom-sync/intercom-sync/internal/emulator"
	"github.com/intercom-sync/intercom-sync/internal/intercom"
	"github.com/intercom-sync/intercom-sync/internal/payloadcrypt"
	"github.com/intercom-sync/intercom-sync/internal/testenv"
	"github.com/intercom-sync/intercom-sync/worker"
	"github.com/intercom-sync/intercom-sync/workflows"
)

// personalFlows is what runPersonalDataFlows did: the workflows it
// started and the personal data that went through them.
type personalFlows struct {
	workflowIDs []string
	userWF      string // the user's sync, whose last email is updatedEmail
	// emails are checked case-insensitively ('@' is not a base64
	// character, so ciphertext cannot hold one by chance); the other
	// values (names, phone) exactly.
	emails, others []string
	updatedEmail   string
}

// runPersonalDataFlows runs the flows that carry personal data into
// Temporal: a user created with an email and then updated, an
// organization membership, an invitation accepted by a new user, and an
// Intercom enrichment that reads the member's phone from the member
// database.
func runPersonalDataFlows(s *stack) personalFlows {
	s.t.Helper()
	org := clerksim.Org{ID: s.id("org", "pd"), Name: "Personal Data Inc", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	user := clerksim.User{ID: s.id("user", "pd"), Email: "pd.created@example.com", FirstName: "Perdita",
		LastName: "Dataworth", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	updated := user
	updated.Email, updated.UpdatedAtMs = "pd.updated@example.com", 1e12+1000
	mem := clerksim.Membership{ID: s.id("orgmem", "pd"), UserID: user.ID, Org: org, CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	f := personalFlows{
		userWF:       workflows.UserWorkflowID(user.ID),
		emails:       []string{user.Email, updated.Email, "pd.invitee@example.com", "ada.lovelace@example.com"},
		others:       []string{"Perdita", "Dataworth", "Brandt", "Lovelace", "465-7031", "7654657031"},
		updatedEmail: updated.Email,
	}

	s.send("pd1", clerksim.OrgEvent(clerk.OrgCreated, org))
	s.send("pd2", clerksim.UserEvent(clerk.UserCreated, user))
	s.waitIdle(idle, f.userWF)
	s.send("pd3", clerksim.UserEvent(clerk.UserUpdated, updated))
	s.send("pd4", clerksim.MembershipEvent(clerk.MembershipCreated, mem))
	s.waitIdle(idle, f.userWF, workflows.OrgWorkflowID(org.ID))
	if c := s.contact(user.ID); c.Email != updated.Email {
		s.t.Fatalf("contact email %q after the update, want %q", c.Email, updated.Email)
	}

	p := newPerson(s, "pd-inv", org, "pd.invitee@example.com", "pd.invitee@example.com")
	for _, name := range []string{"C", "A", "U", "M"} {
		s.send("pd5"+name, p.events[name])
		s.waitIdle(idle, p.workflowIDs()...)
	}

	member, err := s.emulator.AddContact(emulator.Contact{Role: "user", Email: "ada.lovelace@example.com"})
	if err != nil {
		s.t.Fatal(err)
	}
	s.notify(conversationNotification(testenv.Name("notif_"), intercom.TopicConversationUserCreated, member.ID))
	if res := s.enrichResult(member.ID); res.MemberNumber != "100001" {
		s.t.Fatalf("enrichment %+v, want member 100001", res)
	}
	if got := s.emulatorContact(member.ID).Phone; got != "+17654657031" {
		s.t.Fatalf("enriched phone %q", got)
	}
	f.workflowIDs = append([]string{f.userWF, workflows.OrgWorkflowID(org.ID), workflows.EnrichWorkflowID(member.ID)},
		p.workflowIDs()...)
	return f
}

// leaks returns the personal values that occur in b.
func (f personalFlows) leaks(b []byte) []string {
	var found []string
	lower := bytes.ToLower(b)
	for _, e := range f.emails {
		if bytes.Contains(lower, []byte(strings.ToLower(e))) {
			found = append(found, e)
		}
	}
	for _, v := range f.others {
		if bytes.Contains(b, []byte(v)) {
			found = append(found, v)
		}
	}
	return found
}

// payloadsIn collects every Payload in m, however deep: event
// attributes, headers, memos, search attributes, failure details.
func payloadsIn(m protoreflect.Message) []*commonpb.Payload {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		return []*commonpb.Payload{p}
	}
	var out []*commonpb.Payload
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				out = append(out, payloadsIn(v.List().Get(i).Message())...)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				out = append(out, payloadsIn(mv.Message())...)
				return true
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			out = append(out, payloadsIn(v.Message())...)
		}
		return true
	})
	return out
}

func randomKey(t *testing.T, id string) payloadcrypt.Key {
	t.Helper()
	raw := make([]byte, payloadcrypt.KeySize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	k, err := payloadcrypt.NewKey(id, raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// With payload encryption on, the histories Temporal stores hold no
// readable email, name or phone: read raw, without the codec, through a
// client of its own, every byte of every run. With the codec they decode,
// and the personal data is there (so the check above is not vacuous); the
// workflows replay from the encrypted histories, so encryption changed
// nothing of their behaviour.
func TestEncryptedHistoriesHoldNoReadableEmail(t *testing.T) {
	t.Parallel()
	key := randomKey(t, "e2e-k1")
	s := newStack(t, stackOptions{payloadKeys: []payloadcrypt.Key{key}, codecToken: "e2e-codec-token"})
	f := runPersonalDataFlows(s)
	raw := testenv.Temporal(t) // no data converter of ours: what Temporal stores
	codec, err := payloadcrypt.New([]payloadcrypt.Key{key})
	if err != nil {
		t.Fatal(err)
	}

	var histories []*historypb.History
	var decoded bytes.Buffer
	encrypted := 0
	for _, wfID := range f.workflowIDs {
		for _, runID := range s.runIDs(wfID) {
			h := historyOf(t, raw, wfID, runID)
			histories = append(histories, h)
			wire, err := proto.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			if leaked := f.leaks(wire); len(leaked) > 0 {
				t.Errorf("the raw history of %s run %s holds %v", wfID, runID, leaked)
			}
			payloads := payloadsIn(h.ProtoReflect())
			plain, err := codec.Decode(payloads)
			if err != nil {
				t.Fatalf("%s: the codec does not decode the history: %v", wfID, err)
			}
			for i, p := range payloads {
				if string(p.Metadata[converter.MetadataEncoding]) == payloadcrypt.EncodingEncrypted {
					encrypted++
				}
				decoded.Write(plain[i].Data)
			}
		}
	}
	if encrypted < 10 {
		t.Fatalf("only %d encrypted payloads in %d histories: encryption is not on", encrypted, len(histories))
	}
	// (The enrichment carries only the contact id: the member's email and
	// phone are read inside its activity, so neither is in any history.)
	for _, want := range []string{"pd.created@example.com", "pd.updated@example.com", "pd.invitee@example.com", "Dataworth"} {
		if !strings.Contains(decoded.String(), want) {
			t.Errorf("the decoded histories do not hold %s: the raw check proves nothing for it", want)
		}
	}

	replayer, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{DataConverter: codec.DataConverter()})
	if err != nil {
		t.Fatal(err)
	}
	worker.RegisterWorkflows(replayer)
	for _, h := range histories {
		if err := replayer.ReplayWorkflowHistory(nil, h); err != nil {
			t.Fatalf("replay of an encrypted history: %v", err)
		}
	}
}

// The README's codec commands, run with the temporal CLI against the
// stack's API: `temporal workflow show` shows the user's email only with
// --codec-endpoint and the bearer token.
func TestTemporalCLIDecodesThroughTheCodecServer(t *testing.T) {
	t.Parallel()
	cli := testenv.Env(t, "TEMPORAL_CLI")
	s := newStack(t, stackOptions{payloadKeys: []payloadcrypt.Key{randomKey(t, "e2e-cli")}, codecToken: "e2e-codec-token"})
	user := clerksim.User{ID: s.id("user", "cli"), Email: "cli.codec@example.com", FirstName: "Cody", CreatedAtMs: 1e12, UpdatedAtMs: 1e12}
	wfID := workflows.UserWorkflowID(user.ID)
	s.send("1", clerksim.UserEvent(clerk.UserCreated, user))
	s.waitIdle(idle, wfID)

	// show runs `temporal workflow show -o json` and reads its answer as
	// the history it is, to look into every payload's bytes.
	show := func(extra ...string) ([]*commonpb.Payload, string, error) {
		args := append([]string{"workflow", "show", "--address", testenv.TemporalAddress(t), "--namespace", testenv.TemporalNamespace(),
			"--workflow-id", wfID, "--output", "json"}, extra...)
		out, err := exec.Command(cli, args...).Output()
		if err != nil {
			return nil, string(out), err
		}
		h := &historypb.History{}
		if err := protojson.Unmarshal(out, h); err != nil {
			t.Fatalf("temporal workflow show -o json printed no history: %v\n%s", err, out)
		}
		return payloadsIn(h.ProtoReflect()), string(out), nil
	}
	holds := func(payloads []*commonpb.Payload, email string) (found bool, encrypted int) {
		for _, p := range payloads {
			found = found || bytes.Contains(p.Data, []byte(email))
			if string(p.Metadata[converter.MetadataEncoding]) == payloadcrypt.EncodingEncrypted {
				encrypted++
			}
		}
		return found, encrypted
	}

	payloads, out, err := show()
	if err != nil {
		t.Fatalf("temporal workflow show: %v\n%s", err, out)
	}
	if found, encrypted := holds(payloads, user.Email); found || encrypted == 0 || strings.Contains(out, user.Email) {
		t.Fatalf("without the codec: email shown %v, %d encrypted payloads; want no email and encrypted payloads:\n%s", found, encrypted, out)
	}
	payloads, out, err = show("--codec-endpoint", s.api.URL+"/codec", "--codec-auth", "Bearer e2e-codec-token")
	if err != nil {
		t.Fatalf("temporal workflow show --codec-endpoint: %v\n%s", err, out)
	}
	if found, encrypted := holds(payloads, user.Email); !found || encrypted != 0 {
		t.Fatalf("with the codec: email shown %v, %d payloads still encrypted; want the email and none:\n%s", found, encrypted, out)
	}
	// A wrong token decodes nothing.
	payloads, out, err = show("--codec-endpoint", s.api.URL+"/codec", "--codec-auth", "Bearer wrong")
	if found, _ := holds(payloads, user.Email); err == nil && found {
		t.Fatalf("a wrong codec token decoded the history:\n%s", out)
	}
}

// historyOf reads a run's whole history through c, as stored.
func historyOf(t *testing.T, c client.Client, wfID, runID string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), wfID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}
