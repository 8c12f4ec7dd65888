package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/muc-kick/muc-kick/httpapi"
	"github.com/muc-kick/muc-kick/internal/harness/xmpptest"
	"github.com/muc-kick/muc-kick/internal/jid"
	"github.com/muc-kick/muc-kick/muc"
)

const openAPIPath = "api/openapi.yaml"

// loadOpenAPI loads and validates api/openapi.yaml.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(openAPIPath)
	if err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", openAPIPath, err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		t.Fatalf("%s: openapi %s, want 3.1", openAPIPath, doc.OpenAPI)
	}
	return doc
}

// documentedStatuses returns every status an operation of doc lists.
func documentedStatuses(doc *openapi3.T) map[int]bool {
	codes := map[int]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for code := range op.Responses.Map() {
				if n, err := strconv.Atoi(code); err == nil {
					codes[n] = true
				}
			}
		}
	}
	return codes
}

// statusTables are the tables of statuses the docs keep, each found by its
// header: docs/api.md's, every status in detail, and the README's, at a
// glance.
var statusTables = []struct{ path, header string }{
	{"docs/api.md", "| status | when |"},
	{"README.md", "| status | means |"},
}

// TestOpenAPIListsDocumentedStatuses checks that every status of each table
// of statusTables appears in the OpenAPI document, and no other.
func TestOpenAPIListsDocumentedStatuses(t *testing.T) {
	doc := loadOpenAPI(t)
	documented := documentedStatuses(doc)
	for _, st := range statusTables {
		t.Run(st.path, func(t *testing.T) {
			inTable := tableStatuses(t, st.path, st.header)
			for _, code := range inTable {
				if !documented[code] {
					t.Errorf("%s lists status %d; %s does not", st.path, code, openAPIPath)
				}
			}
			for code := range documented {
				if !slices.Contains(inTable, code) {
					t.Errorf("%s documents status %d; %s's table does not", openAPIPath, code, st.path)
				}
			}
		})
	}
}

// tableStatuses returns the statuses of the table under header in the
// Markdown file at path, to the table's end.
func tableStatuses(t *testing.T, path, header string) []int {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := bytes.Cut(text, []byte(header))
	if !ok {
		t.Fatalf("%s has no table headed %q", path, header)
	}
	table, _, _ = bytes.Cut(table, []byte("\n\n"))
	var codes []int
	for _, m := range regexp.MustCompile(`(?m)^\| ([1-5][0-9][0-9]) \|`).FindAllSubmatch(table, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		codes = append(codes, n)
	}
	if len(codes) < 10 {
		t.Fatalf("found only %v in %s's status table: has its format changed?", codes, path)
	}
	return codes
}

// TestOpenAPI sends real requests to muc-kick against a real server and
// validates every response against api/openapi.yaml with kin-openapi, so
// that the document cannot drift from the code. It covers each status of
// docs/api.md's table (see want at the end).
func TestOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	kind := xmpptest.Kinds()[0] // one server suffices: the document is about muc-kick's side
	t.Run(kind.Name, func(t *testing.T) {
		srv := kind.Start(t)
		proxy := xmpptest.StartProxy(t, srv.ComponentAddr)
		d := startOpenAPIDaemon(t, srv, proxy.Addr())

		// The document names its own server; point it at this daemon.
		doc.Servers = openapi3.Servers{{URL: d.url}}
		router, err := legacy.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		v := &apiValidator{t: t, doc: doc, router: router, url: d.url, seen: map[int]bool{}}
		room := func(name string) string { return name + "@" + srv.MUCDomain }

		// 200s.
		v.do("GET", "/healthz", "", "", 200)
		v.do("GET", "/readyz", "", "", 200)
		v.do("GET", "/metrics", "", "", 200)
		r1 := room("openapi")
		join(t, srv, r1, "owner")
		join(t, srv, r1, "Bob")
		v.do("POST", "/muc_kick", testAuth, `{"nickname": "Bob", "muc": "`+r1+`", "reason": "checked against the document"}`, 200)
		// Bob is out: the retried kick of a client that opted in is a 200 that says so.
		v.doWith("POST", "/muc_kick", http.Header{"Authorization": {testAuth}, httpapi.AbsentHeader: {"ok"}}, `{"nickname": "Bob", "muc": "`+r1+`"}`, 200)
		if err := srv.Register("carol", "carol-pw"); err != nil {
			t.Fatal(err)
		}
		for _, res := range []string{"desk", "phone"} {
			if _, err := xmpptest.ConnectAs(t, srv, "carol", "carol-pw", res).Join(r1, "Carol "+res); err != nil {
				t.Fatal(err)
			}
		}
		v.do("POST", "/muc_kick", testAuth, `{"jid": "carol@`+srv.UsersDomain+`", "muc": "`+r1+`"}`, 200)
		v.do("POST", "/muc_ban", testAuth, `{"jid": "spammer@example.org", "muc": "`+r1+`", "reason": "spam"}`, 200)
		v.do("POST", "/muc_unban", testAuth, `{"jid": "spammer@example.org", "muc": "`+r1+`"}`, 200)

		// Mute and unmute, the occupant list; a ban that would strip an owner (409), an unban
		// with nothing to lift (200, already_unbanned), and a retraction
		// where the server has no XEP-0425 (these servers load no
		// mod_muc_moderation: 501).
		r2 := room("openapi-toolbox")
		owner := xmpptest.Connect(t, srv)
		if _, err := owner.Join(r2, "owner"); err != nil {
			t.Fatal(err)
		}
		join(t, srv, r2, "Eve")
		v.do("POST", "/muc_mute", testAuth, `{"nickname": "Eve", "muc": "`+r2+`", "reason": "calm down"}`, 200)
		v.do("POST", "/muc_unmute", testAuth, `{"nickname": "Eve", "muc": "`+r2+`"}`, 200)
		v.do("GET", "/muc_occupants?muc="+r2, testAuth, "", 200)
		v.do("GET", "/muc_occupants?muc="+room("nosuchroom"), testAuth, "", 404)
		ownerJID, _, _ := strings.Cut(owner.JID(), "/")
		v.do("POST", "/muc_ban", testAuth, `{"jid": "`+ownerJID+`", "muc": "`+r2+`"}`, 409)
		v.do("POST", "/muc_unban", testAuth, `{"jid": "nobody@`+srv.UsersDomain+`", "muc": "`+r2+`"}`, 200)
		v.do("POST", "/muc_retract", testAuth, `{"id": "no-such-message", "muc": "`+r2+`"}`, 501)
		v.do("POST", "/muc_mute", testAuth, `{"nickname": "nobody", "muc": "`+r2+`"}`, 404)

		// Refusals that send no stanza.
		v.do("POST", "/muc_kick", testAuth, `not JSON`, 400)
		v.do("POST", "/muc_kick", testAuth, `{"nickname": "Bob", "jid": "bob@example.org", "muc": "`+r1+`"}`, 400)
		v.do("POST", "/muc_ban", testAuth, `{"nickname": "Bob", "muc": "`+r1+`"}`, 400)
		v.do("POST", "/muc_kick", "Basic d3Jvbmc6d3Jvbmc=", `{"nickname": "Bob", "muc": "`+r1+`"}`, 401)
		v.do("POST", "/muc_unban", "", `{"jid": "bob@example.org", "muc": "`+r1+`"}`, 401)
		v.do("POST", "/muc_kick", scopedAuth, `{"nickname": "Bob", "muc": "`+r1+`"}`, 403)
		v.do("POST", "/muc_ban", scopedAuth, `{"jid": "bob@example.org", "muc": "`+r1+`"}`, 403)
		v.do("GET", "/muc_occupants?muc="+r1+"&nickname=Bob", testAuth, "", 400)
		v.do("POST", "/muc_retract", testAuth, `{"jid": "bob@example.org", "muc": "`+r1+`"}`, 400)
		v.do("POST", "/muc_mute", testAuth, `{"muc": "`+r1+`"}`, 400)
		v.do("GET", "/muc_occupants?muc="+r1, scopedAuth, "", 403) // an action it was not given
		v.do("POST", "/muc_retract", scopedAuth, `{"id": "x", "muc": "`+r1+`"}`, 403)
		v.do("POST", "/muc_occupants", testAuth, "", 405)
		v.do("GET", "/muc_unmute", testAuth, "", 405)
		v.do("POST", "/muc_kick", testAuth, `{"nickname": "Bob", "muc": "room@elsewhere.example"}`, 404)
		v.do("GET", "/muc_kick", testAuth, "", 405)
		v.do("DELETE", "/muc_ban", testAuth, "", 405)
		v.do("POST", "/healthz", "", "", 405)
		v.do("POST", "/muc_kick", testAuth, `{"nickname": "Bob", "muc": "`+r1+`", "reason": "`+strings.Repeat("x", 2000)+`"}`, 413)
		v.do("POST", "/muc_kick", rateAuth, `{"nickname": "nobody", "muc": "`+r1+`"}`, 404) // spends the burst
		v.do("POST", "/muc_kick", rateAuth, `{"nickname": "nobody", "muc": "`+r1+`"}`, 429)
		v.unknownPath("/muc_kik")

		// Answers from the server: no such room, no such occupant, and an
		// XMPP error muc-kick has no status of its own for: a muc#admin IQ
		// to room@<a user vhost> reaches no MUC service, and the server
		// answers for the missing account (service-unavailable).
		v.do("POST", "/muc_kick", testAuth, `{"nickname": "Bob", "muc": "`+room("nosuchroom")+`"}`, 404)
		v.do("POST", "/muc_kick", testAuth, `{"nickname": "nobody", "muc": "`+r1+`"}`, 404)
		v.do("POST", "/muc_kick", testAuth, `{"jid": "nobody@`+srv.UsersDomain+`", "muc": "`+r1+`"}`, 404)
		v.do("POST", "/muc_ban", testAuth, `{"jid": "spammer@example.org", "muc": "nomuc@`+srv.UsersDomain+`"}`, 502)

		// 504: the stream goes silent; muc-kick is still in r1 (it lingers),
		// so the kick IQ is all it sends, and component.iq_timeout passes.
		join(t, srv, r1, "Dave")
		proxy.Silence()
		v.do("POST", "/muc_kick", testAuth, `{"nickname": "Dave", "muc": "`+r1+`"}`, 504)

		// 503: the server is gone.
		srv.Stop()
		proxy.CloseSilenced()
		d.waitReady(t, false, 20*time.Second)
		v.do("GET", "/readyz", "", "", 503)
		v.do("POST", "/muc_kick", testAuth, `{"nickname": "Dave", "muc": "`+r1+`"}`, 503)
		v.do("POST", "/muc_unban", testAuth, `{"jid": "bob@example.org", "muc": "`+r1+`"}`, 503)

		for _, code := range []int{200, 400, 401, 403, 404, 405, 409, 413, 429, 501, 502, 503, 504} {
			if !v.seen[code] {
				t.Errorf("no response with status %d was validated", code)
			}
		}
	})
}

// Credentials of the named clients startOpenAPIDaemon configures.
const (
	scopedAuth = "Basic c2NvcGVkOnNjb3BlZA==" // scoped:scoped, only for rooms named elsewhere-*
	rateAuth   = "Basic cmF0ZTpyYXRl"         // rate:rate, one request, then 429 for a long while
)

// startOpenAPIDaemon runs muc-kick in the test process, with its real
// configuration loading, wiring and listener, connected to srv through
// componentAddr, with a small body limit and two named clients.
func startOpenAPIDaemon(t *testing.T, srv *xmpptest.Server, componentAddr string) *daemon {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	cfgText := componentTOML(componentAddr, srv.ComponentDomain, srv.Secret, `iq_timeout = "1s"`, `keepalive_interval = "0s"`) + fmt.Sprintf(`
[muc]
domains = [%q, %q]
linger = "5m"

[http]
listen = "127.0.0.1:0"
authorization_header = %q
max_body_bytes = 1024

[[http.client]]
name = "scoped"
authorization_header = %q
rooms = ["elsewhere-*@%s"]

[[http.client]]
name = "rate"
authorization_header = %q
rate = 0.001
burst = 1
`, srv.MUCDomain, srv.UsersDomain, testAuth, scopedAuth, srv.MUCDomain, rateAuth)
	return runDaemon(t, srv, path, cfgText)
}

// apiValidator sends requests and validates the responses against doc.
type apiValidator struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
	url    string
	seen   map[int]bool // statuses validated
}

// do sends method path with authz and body, checks that the status is want,
// and validates the response against the operation the document has for
// path. For a 405 the method has no operation: the response is validated
// as the answer to the path's documented method, which lists the 405.
func (v *apiValidator) do(method, path, authz, body string, want int) {
	v.t.Helper()
	header := http.Header{}
	if authz != "" {
		header.Set("Authorization", authz)
	}
	v.doWith(method, path, header, body, want)
}

// doWith is do with the request's headers given whole.
func (v *apiValidator) doWith(method, path string, header http.Header, body string, want int) {
	t := v.t
	t.Helper()
	req, err := http.NewRequest(method, v.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Errorf("%s %s %.80s: status %d, want %d: %s", method, path, body, resp.StatusCode, want, raw)
		return
	}

	// The route: the request's own, or for a 405 the path's documented one.
	lookup := req.Clone(context.Background())
	if want == http.StatusMethodNotAllowed {
		item := v.doc.Paths.Find(path)
		if item == nil {
			t.Errorf("%s is not in %s", path, openAPIPath)
			return
		}
		for m := range item.Operations() {
			lookup.Method = m
		}
		if allow := resp.Header.Get("Allow"); allow != lookup.Method {
			t.Errorf("%s %s: Allow %q, the document has %s", method, path, allow, lookup.Method)
		}
	}
	route, params, err := v.router.FindRoute(lookup)
	if err != nil {
		t.Errorf("%s %s: no route in %s: %v", lookup.Method, path, openAPIPath, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    lookup,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	// A request the document allows must get a 200 or an answer from the
	// XMPP side; one it forbids must be refused. (A request the document
	// allows may still be refused: a wrong credential, a room out of
	// scope, a body over the configured limit.)
	if want == http.StatusOK || want >= 500 {
		lookup.Body = io.NopCloser(bytes.NewReader([]byte(body)))
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s %.80s: the request does not match %s: %v", method, path, body, openAPIPath, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(raw)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s %.80s → %d %s: does not match %s: %v", method, path, body, resp.StatusCode, raw, openAPIPath, err)
		return
	}
	v.seen[resp.StatusCode] = true
	t.Logf("%s %s → %d %.200s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
}

// unknownPath checks the 404 of a path the API does not have: no operation
// to validate against, so its body against the Error schema.
func (v *apiValidator) unknownPath(path string) {
	t := v.t
	t.Helper()
	resp, err := http.Get(v.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body any
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Errorf("GET %s: %q is not JSON", path, raw)
		return
	}
	schema := v.doc.Components.Schemas["Error"].Value
	if err := schema.VisitJSON(body, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("GET %s → %s: not the Error schema: %v", path, raw, err)
	}
}

// partialModerator kicks the sessions in kicked by JID, then fails with err:
// a failure part-way that a real server does not produce on demand.
type partialModerator struct {
	kicked []string
	err    error
}

func (m partialModerator) Kick(context.Context, jid.JID, string, string) error { return m.err }
func (m partialModerator) KickJID(context.Context, jid.JID, jid.JID, string) ([]string, error) {
	return m.kicked, m.err
}
func (m partialModerator) Ban(context.Context, jid.JID, jid.JID, string) error { return m.err }
func (m partialModerator) Unban(context.Context, jid.JID, jid.JID) (bool, error) {
	return m.err == nil, m.err
}
func (m partialModerator) SetRole(context.Context, jid.JID, string, muc.Role, string) error {
	return m.err
}
func (m partialModerator) SetRoleJID(context.Context, jid.JID, jid.JID, muc.Role, string) ([]string, error) {
	return m.kicked, m.err
}
func (m partialModerator) Occupants(context.Context, jid.JID) ([]muc.Occupant, error) {
	return nil, m.err
}
func (m partialModerator) Retract(context.Context, jid.JID, muc.Selection, string) (muc.Retraction, error) {
	return muc.Retraction{}, m.err
}

// TestOpenAPIPartialKick validates the body of a kick, mute or unmute by
// JID that failed part-way, {"kicked": [...], "muc": ..., "error": ...}
// (or "muted", "unmuted"), with each status
// it comes with. The HTTP side is the real handler; the XMPP side is a fake,
// since no real server fails the second kick of two on demand.
func TestOpenAPIPartialKick(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, tc := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("%w (not-allowed)", muc.ErrRefused), 403},
		{fmt.Errorf("%w (item-not-found)", muc.ErrOccupantNotFound), 404},
		{&muc.StanzaError{Type: "wait", Condition: "resource-constraint"}, 502},
		{muc.ErrStreamLost, 503},
		{muc.ErrNoAnswer, 504},
	} {
		h := httpapi.New(partialModerator{kicked: []string{"Bob"}, err: tc.err}, httpapi.Options{
			AuthorizationHeader: testAuth, Logger: slog.New(slog.DiscardHandler)})
		srv := httptest.NewServer(h)
		doc.Servers = openapi3.Servers{{URL: srv.URL}}
		router, err := legacy.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		v := &apiValidator{t: t, doc: doc, router: router, url: srv.URL, seen: map[int]bool{}}
		v.do("POST", "/muc_kick", testAuth, `{"jid": "bob@example.org", "muc": "r@conference.example.org"}`, tc.code)
		v.do("POST", "/muc_mute", testAuth, `{"jid": "bob@example.org", "muc": "r@conference.example.org"}`, tc.code)
		v.do("POST", "/muc_unmute", testAuth, `{"jid": "bob@example.org", "muc": "r@conference.example.org"}`, tc.code)
		srv.Close()
	}
}
