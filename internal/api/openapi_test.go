package api

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/parleyhq/parley/docs"
)

// TestOpenAPIDescribesEveryRoute loads docs/openapi.yaml with a YAML parser
// and checks that every pattern registered in the mux is documented, that
// the document documents nothing that is not served, and that every $ref
// resolves.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI    string                    `yaml:"openapi"`
		Paths      map[string]map[string]any `yaml:"paths"`
		Components map[string]map[string]any `yaml:"components"`
		Events     struct {
			Channels map[string]map[string]any `yaml:"channels"`
		} `yaml:"x-realtime-events"`
	}
	if err := yaml.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	e := newEnv(t, nil)
	served := map[string]bool{}
	for _, rt := range e.api.Routes() {
		method, path, _ := strings.Cut(rt, " ")
		served[strings.ToLower(method)+" "+path] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %q is not in docs/openapi.yaml", rt)
		}
	}
	for path, ops := range doc.Paths {
		if strings.HasPrefix(path, "/api/v1/attachments") {
			continue // served by internal/attachapi, mounted beside this API
		}
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if !served[method+" "+path] {
				t.Errorf("openapi.yaml documents %s %s, which is not served", method, path)
			}
		}
	}

	// Every real-time event the code publishes is documented.
	for channel, events := range map[string][]string{
		"private-thread-{threadId}": {"new-message", "message-updated", "message-deleted", "message-read", EventTypingStart, EventTypingStop},
		"private-user-{userId}":     {"inbox-update", "thread-created"},
	} {
		for _, ev := range events {
			if _, ok := doc.Events.Channels[channel][ev]; !ok {
				t.Errorf("event %s on %s is not in x-realtime-events", ev, channel)
			}
		}
	}

	// Every local $ref points at something.
	var root any
	if err := yaml.Unmarshal(docs.OpenAPI, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	refs := 0
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "$ref" {
					refs++
					if !resolves(root, c.(string)) {
						t.Errorf("$ref %q does not resolve", c)
					}
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(root)
	if refs < 20 {
		t.Fatalf("only %d $refs found; the walk is broken", refs)
	}

	t.Run("served by the API", func(t *testing.T) {
		r := e.do("", "GET", "/api/v1/openapi.yaml", nil)
		if r.Status != 200 || string(r.Body) != string(docs.OpenAPI) || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/yaml") {
			t.Fatalf("GET openapi.yaml: %d %q", r.Status, r.Header.Get("Content-Type"))
		}
	})
}

func resolves(root any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	cur := root
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}
