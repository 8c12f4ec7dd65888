package config

import (
	"maps"

	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"
)

// decode decodes the TOML document data into c.
//
// It first decodes data into a generic tree and checks every key and value
// against the fields of Config, and only then decodes data into c, which
// cannot fail after the check. The check is there for the error messages.
// BurntSushi/toml reports a type mismatch as text with the key inside it, and
// of several mismatches reports whichever it meets first while ranging over a
// map, so the same file can give different errors. The check names the key in
// every error and always reports the same one: an unknown key first, the
// first in sorted order, else the first bad value in the order of the file.
//
// The check also makes decoding stricter than MetaData.Undecoded alone would.
// BurntSushi/toml matches a key to a field case-insensitively when no field
// matches exactly, so "Domain" would fill Component.Domain, and a file with
// both "domain" and "Domain" would end up with either value. Here a key must
// be spelled exactly as it is documented.
func decode(data string, c *Config) error {
	var tree map[string]any
	md, err := toml.Decode(data, &tree)
	if err != nil {
		return syntaxError(err, data)
	}
	fields := schema(reflect.TypeFor[Config]())
	if err := checkKeys(md.Keys(), fields); err != nil {
		return err
	}
	for _, k := range md.Keys() {
		v, ok := lookup(tree, k)
		if !ok {
			continue // under an array of tables, which checkValue has refused
		}
		if err := checkValue(k.String(), v, fields[k.String()]); err != nil {
			return err
		}
	}
	if _, err := toml.Decode(data, c); err != nil {
		// checkValue let through something the decoder refuses.
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// syntaxError reports a document that is not TOML, by line and key but
// never with the text of the file: BurntSushi/toml quotes what it found
// ("expected value but found \"correcthorsebatterystaple\" instead"), and
// that may be a secret given without its quotes.
func syntaxError(err error, data string) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("config: %w", err)
	}
	msg := pe.Message
	if isSecretKey(pe.LastKey) {
		msg = hideValue(msg, data, pe.Position.Line)
	}
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		switch inner := q[1 : len(q)-1]; {
		case inner == `\n`:
			return "the end of the line"
		case pe.LastKey != "" && inner == pe.LastKey,
			strings.HasPrefix(inner, "0x") && len(inner) <= 8, // a control character's code
			inner == `\x`, inner == `\u`, inner == `\U`, // "… hexadecimal digits after '\u'"
			len(inner) <= 3 && strings.Trim(inner, `=.[]{},"'`) == "": // TOML's own punctuation
			return q
		}
		return "(text not shown)"
	})
	msg = strings.ReplaceAll(msg, notShown, "(text not shown)")
	if strings.HasPrefix(pe.Message, "expected value but found") {
		msg += " (is a string missing its quotes?)"
	}
	if pe.LastKey != "" {
		return fmt.Errorf("config: line %d: %s: %s", pe.Position.Line, pe.LastKey, oneLine(msg))
	}
	return fmt.Errorf("config: line %d: %s", pe.Position.Line, oneLine(msg))
}

// notShown stands for a hidden piece of a message until the quoted pieces
// are hidden too.
const notShown = "\x00"

// hideValue hides, in msg, every piece of the value on the given line of
// data: the decoder quotes some values bare ("314159265358979323846264 is
// out of range for int64"), and the key holds a secret.
func hideValue(msg, data string, line int) string {
	lines := strings.Split(data, "\n")
	if line < 1 || line > len(lines) {
		return msg
	}
	_, value, _ := strings.Cut(lines[line-1], "=")
	pieces := strings.FieldsFunc(value, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`"'[]{},=#`, r)
	})
	slices.SortFunc(pieces, func(a, b string) int { return len(b) - len(a) })
	for _, p := range pieces {
		if len(p) >= 2 {
			msg = strings.ReplaceAll(msg, p, notShown)
		}
	}
	return msg
}

// isSecretKey reports whether the dotted key name, such as
// "component.secret" or "http.client[0].authorization_header", holds a
// secret, whose value no error, log line or output may show.
func isSecretKey(name string) bool {
	last := name[strings.LastIndex(name, ".")+1:]
	last, _, _ = strings.Cut(last, "[")
	switch last {
	case "secret", "authorization_header", "authorization_sha256", "authorization_argon2id":
		return true
	}
	return false
}

// quoted matches a quoted piece of one of BurntSushi/toml's messages.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^']*'`)

// oneLine escapes the control characters in s as Go would in a string
// literal: BurntSushi/toml quotes the offending character in some messages,
// and that may be a newline.
func oneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// schema maps the dotted name of each key that a TOML table decoding into t
// may hold, such as "component.server", to the type of its field. It follows
// the toml struct tags, so it cannot drift from Config.
func schema(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	var add func(prefix string, t reflect.Type)
	add = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := f.Tag.Get("toml")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			fields[prefix+name] = f.Type
			if f.Type.Kind() == reflect.Struct && !isUnmarshaler(f.Type) {
				add(prefix+name+".", f.Type)
			}
			if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
				add(prefix+name+".", f.Type.Elem()) // an array of tables
			}
		}
	}
	add("", t)
	return fields
}

// isUnmarshaler reports whether a pointer to t decodes itself from TOML, as
// *Duration does.
func isUnmarshaler(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[toml.Unmarshaler]())
}

// checkKeys refuses the first key, in sorted order, that is not in fields.
func checkKeys(keys []toml.Key, fields map[string]reflect.Type) error {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.String()
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := fields[name]; ok {
			continue
		}
		if parent, ok := secretParent(name); ok {
			// A table where a secret goes: its keys may be the secret.
			return fmt.Errorf("config: %s: expected string, got table", parent)
		}
		for known := range fields {
			if strings.EqualFold(name, known) {
				return fmt.Errorf("config: unknown key %q (keys are case-sensitive: did you mean %q?)", name, known)
			}
		}
		return fmt.Errorf("config: unknown key %q", name)
	}
	return nil
}

// secretParent returns the secret key that name is inside of, such as
// "component.secret" for "component.secret.hunter2".
func secretParent(name string) (string, bool) {
	for i := strings.Index(name, "."); i >= 0; {
		if isSecretKey(name[:i]) {
			return name[:i], true
		}
		j := strings.Index(name[i+1:], ".")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return "", false
}

// lookup returns the value of key in tree.
func lookup(tree map[string]any, key toml.Key) (any, bool) {
	var v any = tree
	for _, part := range key {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

// checkValue reports whether BurntSushi/toml will decode v, the value of the
// key name, into a field of type t.
func checkValue(name string, v any, t reflect.Type) error {
	if isUnmarshaler(t) {
		u := reflect.New(t).Interface().(toml.Unmarshaler)
		if err := u.UnmarshalTOML(v); err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
		return nil
	}
	var ok bool
	switch t.Kind() {
	case reflect.Struct:
		_, ok = v.(map[string]any)
	case reflect.String:
		_, ok = v.(string)
	case reflect.Int64:
		_, ok = v.(int64)
	case reflect.Float64:
		switch v.(type) {
		case float64, int64:
			ok = true
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return checkTables(name, v, t.Elem())
		}
		var a []any
		if a, ok = v.([]any); ok {
			for i, elem := range a {
				if err := checkValue(fmt.Sprintf("%s[%d]", name, i), elem, t.Elem()); err != nil {
					return err
				}
			}
		}
	default:
		return fmt.Errorf("config: %s: cannot check a value for a field of type %s", name, t)
	}
	if !ok {
		return fmt.Errorf("config: %s: expected %s, got %s", name, tomlKind(t), tomlType(v))
	}
	return nil
}

// checkTables checks an array of tables, v, whose elements decode into t.
func checkTables(name string, v any, t reflect.Type) error {
	tables, ok := v.([]map[string]any)
	if !ok {
		return fmt.Errorf("config: %s: expected an array of tables ([[%s]]), got %s", name, name, tomlType(v))
	}
	fields := schema(t)
	for i, table := range tables {
		for _, k := range slices.Sorted(maps.Keys(table)) {
			ft, known := fields[k]
			if !known {
				return fmt.Errorf("config: unknown key %q in [[%s]]", k, name)
			}
			if err := checkValue(fmt.Sprintf("%s[%d].%s", name, i, k), table[k], ft); err != nil {
				return err
			}
		}
	}
	return nil
}

// tomlKind names the TOML type that decodes into a field of type t.
func tomlKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct:
		return "table"
	case reflect.String:
		return "string"
	case reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array of " + tomlKind(t.Elem()) + "s"
	default:
		return t.String()
	}
}

// tomlType names the TOML type of v, a value BurntSushi/toml decoded into a
// variable of type any.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case time.Time:
		return "datetime"
	case []any:
		return "array"
	case []map[string]any:
		return "array of tables"
	case map[string]any:
		return "table"
	default:
		return fmt.Sprintf("%T", v)
	}
}
