package emulator

import "time"

// defaultSearchIndexDelay is how far POST /contacts/search lags writes when
// Options.SearchIndexDelay is unset and Loose.NoSearchLag is false.
const defaultSearchIndexDelay = 2 * time.Second

// searchDelay is the effective index lag.
func (s *Server) searchDelay() time.Duration {
	if s.opts.Loose.NoSearchLag {
		return 0
	}
	if s.opts.SearchIndexDelay > 0 {
		return s.opts.SearchIndexDelay
	}
	return defaultSearchIndexDelay
}

// The search index model. Intercom's search lags writes; the emulator keeps
// the simplest model that shows both kinds of lag, with d the delay:
//
//   - a contact created less than d ago is absent from search (created is
//     its precise creation time; a seeded contact has a zero one, as if the
//     index always had it);
//   - a contact written (updated, tagged, untagged, attached to or detached
//     from a company, merged into) less than d ago is matched, and
//     rendered, with the values it had before that burst of writes: the
//     snapshot in indexed, taken at the first write after the values were
//     last indexed. Once the last write is d old, search sees the current
//     values. A burst of writes therefore shows the values from before the
//     burst until the burst is d old, never an intermediate one.
//
// Archive, unarchive, delete and the merged-away lead leave search at once,
// and GET by id, lists and the 409 duplicate checks always see the current
// values.

// touchIndex records that ct is about to be written at now: unless a
// snapshot from before the current burst of writes is still pending, the
// values ct has now become that snapshot. Call it before mutating ct.
func (s *Server) touchIndex(ct *Contact, now time.Time) {
	d := s.searchDelay()
	if d <= 0 {
		return
	}
	if ct.indexed == nil || now.Sub(ct.written) >= d {
		ct.indexed = ct.indexSnapshot()
	}
	ct.written = now
}

// indexSnapshot copies the searchable values of ct and its seq (search
// cursors use it), without the rest of the unexported bookkeeping.
func (ct *Contact) indexSnapshot() *Contact {
	snap := ct.clone()
	snap.created, snap.written = time.Time{}, time.Time{}
	snap.tagApplied, snap.indexed = nil, nil
	return &snap
}

// searchView returns the values search sees for ct at now, or nil while ct
// is not yet indexed.
func (s *Server) searchView(ct *Contact, now time.Time) *Contact {
	d := s.searchDelay()
	if d <= 0 {
		return ct
	}
	if now.Sub(ct.created) < d {
		return nil
	}
	if ct.indexed != nil && now.Sub(ct.written) < d {
		return ct.indexed
	}
	return ct
}
