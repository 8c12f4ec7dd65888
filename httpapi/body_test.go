package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestReadObjectInOnePass: the one pass over a body (scanObject) refuses
// what encoding/json's Decode refused before it and reports the errors in
// the order of unambiguous's checks, and gives each top-level field's raw
// JSON as Decode did.
func TestReadObjectInOnePass(t *testing.T) {
	const maxDepth = 10000 // how deeply encoding/json lets arrays and objects nest
	notObject := errNotObject.Error()
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		body, err string
		fields    map[string]json.RawMessage
	}{
		{body: ` { "muc" : "r@c" , "x" : [ 1, {"a": null} ] , "n": -1.5e3 } `,
			fields: map[string]json.RawMessage{"muc": json.RawMessage(`"r@c"`), "x": json.RawMessage(`[ 1, {"a": null} ]`), "n": json.RawMessage(`-1.5e3`)}},
		{body: `{}`, fields: map[string]json.RawMessage{}},
		{body: `null`, err: notObject},
		{body: `["a"]`, err: notObject},
		{body: `{"a":1,}`, err: notObject},
		{body: `{"a" 1}`, err: notObject},
		{body: `{"x":` + nest(maxDepth-1) + `}`, fields: map[string]json.RawMessage{"x": json.RawMessage(nest(maxDepth - 1))}},
		{body: `{"x":` + nest(maxDepth) + `}`, err: notObject},
		{body: `{"a":1e400}`, err: notObject},
		{body: "{\"a\":1e400,\"b\":\"\xff\"}", err: "bad request: the body must be UTF-8; byte 16 is not"},
		{body: `{"a":1,"a":2} x`, err: "bad request: the body must hold one JSON object and nothing after it"},
		{body: `{"a":1,"a":2,"b":1e400}`, err: `bad request: the key "a" appears twice`},
		{body: `{"b":1e400,"a":1,"a":2}`, err: notObject},
		{body: `{"x":{"k":1,"K":2},"y":"\ud800"}`, err: `bad request: the body holds a lone UTF-16 surrogate, \ud800; a character beyond U+FFFF is written as a pair, such as \ud83d\ude00`},
		{body: `{"x":{"k":1,"K":2}}`, err: `bad request: the keys "k" and "K" are the same but for letter case`},
		{body: "{\"x\":{\"k\":1,\"\u212a\":2}}", err: "bad request: the keys \"k\" and \"\u212a\" are the same but for letter case"}, // Kelvin sign
		{body: "{\"\u017f\":1,\"S\":2}", err: "bad request: the keys \"\u017f\" and \"S\" are the same but for letter case"},         // long s
	} {
		fields, err := readObject(strings.NewReader(tc.body))
		if got := errString(err); got != tc.err {
			t.Errorf("%.60q: error %q, want %q", tc.body, got, tc.err)
		}
		if !reflect.DeepEqual(fields, tc.fields) {
			t.Errorf("%.60q: fields %q, want %q", tc.body, fields, tc.fields)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
