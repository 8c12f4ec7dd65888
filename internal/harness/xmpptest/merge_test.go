package xmpptest

import (
	"strings"
	"testing"
)

func TestMergeModules(t *testing.T) {
	base := `listen:
  -
    port: 5347
modules:
  # the MUC service
  mod_muc:
    host: conference.localhost
    access_admin: muc_admin

  # trailing comment
`
	extra := `# comment
modules:
  mod_mam: {}
  mod_muc:
    host: conference.localhost
    default_room_options:
      mam: true
`
	got, err := mergeModules(base, extra)
	if err != nil {
		t.Fatal(err)
	}
	want := `listen:
  -
    port: 5347
modules:
  # the MUC service
  mod_muc:
    host: conference.localhost
    access_admin: muc_admin
    default_room_options:
      mam: true
  mod_mam: {}

  # trailing comment
`
	if got != want {
		t.Errorf("merged:\n%s\nwant:\n%s", got, want)
	}

	for name, c := range map[string]struct{ base, extra string }{
		"other host":      {base, strings.Replace(extra, "host: conference.localhost", "host: muc.localhost", 1)},
		"no modules":      {base, "listen: []\n"},
		"base no modules": {"listen: []\n", extra},
		"inline module":   {strings.Replace(base, "mod_muc:", "mod_muc: {host: x}\n  mod_x:", 1), extra},
	} {
		if got, err := mergeModules(c.base, c.extra); err == nil {
			t.Errorf("%s: merged without error:\n%s", name, got)
		}
	}
}

// TestRetractionSnippets checks that the contrib snippets that turn
// retraction on read as the harness uses them, without a server.
func TestRetractionSnippets(t *testing.T) {
	s := &Server{MUCDomain: mucDomain, ComponentDomain: componentDomain, ComponentAddr: "127.0.0.1:1", ComponentAddrs: []string{"127.0.0.1:1"}, Secret: "s"}
	lua, err := s.contribExtra("prosody/retraction.cfg.lua", "--")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lua, `Component "conference.localhost" "muc"`) || !strings.Contains(lua, `"muc_mam", "muc_moderation"`) {
		t.Errorf("prosody snippet:\n%s", lua)
	}
	snippet, err := s.contribSnippet("ejabberd/muc-kick.yml", "#")
	if err != nil {
		t.Fatal(err)
	}
	extra, err := s.contribExtra("ejabberd/retraction.yml", "#")
	if err != nil {
		t.Fatal(err)
	}
	merged, err := mergeModules(snippet, extra)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(merged, "mod_muc:") != 1 || !strings.Contains(merged, "    access_admin: muc_admin\n    default_room_options:\n      mam: true\n") || !strings.Contains(merged, "\n  mod_mam: {}") {
		t.Errorf("merged ejabberd snippet:\n%s", merged)
	}
}
