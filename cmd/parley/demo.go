package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/messenger"
)

// The demo clinic: two patients, two providers, two threads with history.
// `parley serve --demo` seeds it once per data directory and lets the web
// client sign in as any of them — never run --demo with real data.
var demoUsers = []struct {
	ID, Name string
	Role     messenger.Role
}{
	{"p-anna", "Anna Petrova", messenger.RolePatient},
	{"p-ben", "Ben Ortiz", messenger.RolePatient},
	{"dr-chen", "Dr. Maria Chen", messenger.RoleProvider},
	{"rn-lee", "Sam Lee, RN", messenger.RoleProvider},
}

var demoThreads = []struct {
	Subject      string
	Participants []string
	History      [][2]string // sender, text
}{
	{"Rash follow-up", []string{"p-anna", "dr-chen"}, [][2]string{
		{"p-anna", "Hello Dr. Chen, the rash on my arm is still there after a week."},
		{"dr-chen", "Thanks for letting me know. Is it itchy or painful?"},
		{"p-anna", "A little itchy, not painful. I can send a photo."},
		{"dr-chen", "Please do, and keep using the cream twice a day until then."},
	}},
	{"Lab results", []string{"p-ben", "dr-chen", "rn-lee"}, [][2]string{
		{"rn-lee", "Hi Ben, your blood test results are in. Dr. Chen will review them today."},
		{"p-ben", "Great, thank you! Anything I should do before then?"},
		{"rn-lee", "Nothing special — keep hydrated. We'll message you here."},
	}},
}

const demoService = "demo-seeder"

func (m *Main) seedDemo(ctx context.Context, mux *http.ServeMux, svc *messenger.Service) error {
	m.Log.Warn("demo mode: anyone can sign in as the demo users; never use --demo with real data")
	service := messenger.Actor{UserID: demoService, Role: messenger.RoleService, Name: "Demo seeder"}
	existing, err := svc.ListThreads(ctx, messenger.Actor{UserID: "p-anna", Role: messenger.RolePatient, Name: "Anna Petrova"}, "", 1)
	if err != nil {
		return err
	}
	if len(existing.Threads) == 0 {
		names := map[string]demoUser{}
		for _, u := range demoUsers {
			names[u.ID] = demoUser{u.Name, u.Role}
		}
		for ti, t := range demoThreads {
			var ps []messenger.ParticipantInput
			for _, id := range t.Participants {
				ps = append(ps, messenger.ParticipantInput{ID: id, Role: names[id].role, Name: names[id].name})
			}
			th, err := svc.CreateThread(ctx, service, messenger.NewThread{Subject: t.Subject, Participants: ps})
			if err != nil {
				return err
			}
			for i, h := range t.History {
				_, _, err := svc.SendMessage(ctx, service, th.ID, messenger.NewMessage{
					ClientID: "demo-" + string(rune('a'+ti)) + "-" + string(rune('a'+i)), Content: h[1], OnBehalfOf: h[0],
				})
				if err != nil {
					return err
				}
			}
		}
	}
	mux.HandleFunc("GET /api/v1/demo/users", func(w http.ResponseWriter, r *http.Request) {
		type entry struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Role  string `json:"role"`
			Token string `json:"token"`
		}
		out := make([]entry, 0, len(demoUsers))
		for _, u := range demoUsers {
			tok, err := auth.Issue(m.jwtSecret, u.ID, auth.Role(u.Role), u.Name, 12*time.Hour)
			if err != nil {
				http.Error(w, `{"error":{"code":"internal","message":"cannot issue demo tokens"}}`, http.StatusInternalServerError)
				return
			}
			out = append(out, entry{u.ID, u.Name, string(u.Role), tok})
		}
		writeJSON(w, out)
	})
	return nil
}

type demoUser struct {
	name string
	role messenger.Role
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
