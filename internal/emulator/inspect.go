package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// The inspection API is not part of Intercom's: it lets tests and humans
// look into and steer the emulator. It needs no token, is never rate
// limited, never sees injected faults and is not counted in Counters.
//
//	GET  /_emulator/state          State as JSON
//	POST /_emulator/reset          drop all data and counters
//	GET  /_emulator/faults         current Faults
//	PUT  /_emulator/faults         replace Faults (JSON, slow_delay as "250ms")
//	POST /_emulator/conversations  seed one Conversation or an array of them
func (s *Server) inspectionRoutes() {
	s.mux.HandleFunc("GET /_emulator/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Snapshot())
	})
	s.mux.HandleFunc("POST /_emulator/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]bool{"reset": true})
	})
	s.mux.HandleFunc("GET /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.faults
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, f)
	})
	s.mux.HandleFunc("PUT /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&f); err != nil {
			writeError(w, badRequest("faults: "+err.Error()))
			return
		}
		if err := f.validate(); err != nil {
			writeError(w, badRequest("faults: "+err.Error()))
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, f)
	})
	s.mux.HandleFunc("POST /_emulator/conversations", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
		if err != nil {
			writeError(w, badRequest("conversations: "+err.Error()))
			return
		}
		// UseNumber keeps integers in custom attributes integral.
		var convs []Conversation
		trimmed := bytes.TrimSpace(body)
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if len(trimmed) > 0 && trimmed[0] == '[' {
			err = dec.Decode(&convs)
		} else {
			var one Conversation
			err = dec.Decode(&one)
			convs = []Conversation{one}
		}
		if err != nil {
			writeError(w, badRequest("conversations: "+err.Error()))
			return
		}
		for i := range convs {
			if convs[i].CustomAttributes != nil {
				convs[i].CustomAttributes = normaliseValue(convs[i].CustomAttributes).(map[string]any)
			}
		}
		out, err := s.SeedConversation(convs...)
		if err != nil {
			writeError(w, paramInvalid(err.Error()))
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}
