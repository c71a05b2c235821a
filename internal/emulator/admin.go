package emulator

// getMe is GET /me: the admin the access token belongs to, with its app
// (workspace). The admin id is fixed so tests and the conversation tag
// endpoints, which need an admin_id, agree on it.
func (s *Server) getMe(c *call) (any, *apiError) {
	return obj{
		"type":               "admin",
		"id":                 AdminID,
		"name":               AdminName,
		"email":              AdminEmail,
		"job_title":          "",
		"away_mode_enabled":  false,
		"away_mode_reassign": false,
		"has_inbox_seat":     true,
		"team_ids":           []int{},
		"email_verified":     true,
		"avatar":             obj{"type": "avatar", "image_url": nil},
		"app": obj{
			"type":                  "app",
			"id_code":               WorkspaceID,
			"name":                  "Intercom Emulator",
			"region":                "US",
			"timezone":              "UTC",
			"created_at":            s.st.createdApp,
			"identity_verification": false,
		},
	}, nil
}
