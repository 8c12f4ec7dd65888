package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/muc-kick/muc-kick/component"
	"github.com/muc-kick/muc-kick/internal/app"
	"github.com/muc-kick/muc-kick/internal/config"
	"github.com/muc-kick/muc-kick/internal/harness/testkit"
	"github.com/muc-kick/muc-kick/muc"
	"github.com/muc-kick/muc-kick/tools/bench/baseline"
)

// inproc is muc-kick wired in this process by internal/app, as main.go's
// serve wires it, minus what a benchmark does not exercise: sd_notify, TLS
// and a separate metrics listener.
type inproc struct {
	URL     string
	handler http.Handler
	comp    *component.Component
	mgr     *muc.Manager
	srv     *http.Server
	stop    func()
}

// benchConfig is the configuration file of a daemon the benchmark runs.
func benchConfig(server, domain, secret, mucDomain, listen string, iqTimeout, linger time.Duration) string {
	return `[component]
server = "` + server + `"
domain = "` + domain + `"
secret = "` + secret + `"
iq_timeout = "` + iqTimeout.String() + `"

[muc]
domains = ["` + mucDomain + `"]
nick = "kickbot"
linger = "` + linger.String() + `"

[http]
listen = "` + listen + `"
authorization_header = "` + authz + `"
`
}

// startInproc starts muc-kick in this process from a configuration text, as
// serve would after config.Load, logging to logw.
func startInproc(cfgText string, logw io.Writer) (*inproc, error) {
	cfg, err := config.Parse([]byte(cfgText))
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}))
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return nil, err
	}

	// From here on, as main.go's serve: the same internal/app wiring.
	built := app.New(cfg, log, nil)
	comp, mgr, handler := built.Component, built.Rooms, built.Handler
	srv := app.NewHTTPServer(handler, log, app.DefaultTimeouts(built.KickBound))

	ctx, cancel := context.WithCancel(context.Background())
	compDone := make(chan error, 1)
	go func() { compDone <- comp.Run(ctx) }()
	go func() { _ = srv.Serve(ln) }()

	d := &inproc{URL: "http://" + ln.Addr().String(), handler: handler, comp: comp, mgr: mgr, srv: srv}
	d.stop = func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		_ = mgr.Close(sctx)
		cancel()
		<-compDone
	}
	return d, nil
}

// waitConnected waits until the component stream is authenticated.
func (d *inproc) waitConnected(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !d.comp.Connected() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// kick kicks nick out of room through d, over c, with kickReason, and
// returns an error unless it is answered 200.
func (d *inproc) kick(c *http.Client, room, nick string) error {
	body := fmt.Appendf(nil, `{"nickname": %q, "muc": %q, "reason": %q}`, nick, room, kickReason)
	code, err := post(c, d.URL+"/muc_kick", body)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("HTTP %d", code)
	}
	return err
}

// setRole mutes (role "visitor": POST /muc_mute) or unmutes (role
// "participant": /muc_unmute) nick in room through d, over c, and returns an
// error unless it is answered 200 naming nick.
func (d *inproc) setRole(c *http.Client, room, nick, role, reason string) error {
	path, key := "/muc_mute", "muted"
	if role == "participant" {
		path, key = "/muc_unmute", "unmuted"
	}
	body := fmt.Appendf(nil, `{"nickname": %q, "muc": %q, "reason": %q}`, nick, room, reason)
	var answer map[string]json.RawMessage
	if err := postJSON(c, d.URL+path, body, &answer); err != nil {
		return err
	}
	var nicks []string
	if err := json.Unmarshal(answer[key], &nicks); err != nil || !slices.Contains(nicks, nick) {
		return fmt.Errorf("answer without %q in %q", nick, key)
	}
	return nil
}

// retract retracts the message with stanza id id from room through d
// (POST /muc_retract), over c, and returns an error unless it is answered
// 200 naming id as retracted and nothing as failed.
func (d *inproc) retract(c *http.Client, room, id, reason string) error {
	body := fmt.Appendf(nil, `{"id": %q, "muc": %q, "reason": %q}`, id, room, reason)
	var answer struct {
		Retracted []string          `json:"retracted"`
		Failed    []json.RawMessage `json:"failed"`
	}
	if err := postJSON(c, d.URL+"/muc_retract", body, &answer); err != nil {
		return err
	}
	if !slices.Contains(answer.Retracted, id) || len(answer.Failed) > 0 {
		return fmt.Errorf("answer without %q retracted", id)
	}
	return nil
}

// tempLog creates a file for the log of an in-process daemon, removed when
// tb's cleanups run.
func tempLog(tb testkit.TB) (*os.File, error) {
	f, err := os.CreateTemp("", "muc-kick-bench-*.log")
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { f.Close(); os.Remove(f.Name()) })
	return f, nil
}

// startBare serves the baseline: an httprouter route that decodes the same
// JSON body and answers 200 with a JSON body (package baseline), on an
// http.Server with the same timeouts as muc-kick's.
func startBare() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	r := httprouter.New()
	r.POST("/muc_kick", func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
		if baseline.Decode(w, req) {
			baseline.Answer(w)
		}
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := app.NewHTTPServer(r, log, app.DefaultTimeouts(35*time.Second))
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
