// Package baseline is what the benchmark's baselines do with a kick
// request, so that the bare handler of part 1 (tools/bench) and the
// holdserver of part 3 (tools/bench/holdserver) do the same work as
// muc-kick's HTTP side, and nothing more: decode the JSON body, answer 200
// with a JSON body.
package baseline

import (
	"encoding/json"
	"io"
	"net/http"
)

// Decode decodes the body of a kick request as muc-kick does, and answers
// 400 itself when it does not decode.
func Decode(w http.ResponseWriter, req *http.Request) bool {
	var body struct {
		Nickname string `json:"nickname"`
		MUC      string `json:"muc"`
		Reason   string `json:"reason"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return false
	}
	return true
}

// Answer answers 200 with a JSON body.
func Answer(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `{"ok":true}`+"\n")
}
