package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on free-text fields, in bytes.
const (
	maxNameLen    = 256      // column names, metric names, sweep names
	maxGroupLen   = 1024     // Task.Group
	maxMessageLen = 64 << 10 // error messages
	maxMetrics    = 256      // entries in Progress.Metrics
	maxDigestLen  = 256      // ObjectRef.Digest
)

// invalidf returns an *Error of code CodeInvalid with the message
// "protocol: <what>: <formatted>".
func invalidf(what, format string, args ...any) error {
	return &Error{Code: CodeInvalid, Message: "protocol: " + what + ": " + fmt.Sprintf(format, args...)}
}

// quote returns s as a Go string literal, cut to 64 bytes so that an error
// message stays readable whatever it quotes.
func quote(s string) string {
	if c := clip(s); len(c) < len(s) {
		return strconv.Quote(c[:len(c)-len("…")]) + "…"
	}
	return strconv.Quote(s)
}

// clip cuts s to at most 64 bytes at a rune boundary, marking a cut with "…".
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// checkText checks a free-text field: valid UTF-8, at most max bytes, and
// non-empty when required.
func checkText(what, field, s string, max int, required bool) error {
	switch {
	case s == "" && required:
		return invalidf(what, "%s is empty", field)
	case len(s) > max:
		return invalidf(what, "%s is %d bytes long, more than %d", field, len(s), max)
	case !utf8.ValidString(s):
		return invalidf(what, "%s %s is not valid UTF-8", field, quote(s))
	}
	return nil
}

// checkAttempt checks an attempt number, which counts from 1.
func checkAttempt(what string, attempt int) error {
	if attempt < 1 {
		return invalidf(what, "attempt %d is less than 1", attempt)
	}
	return nil
}

// checkTime checks a timestamp: set, and within the years JSON can carry
// (1 to 9999, in UTC).
func checkTime(what, field string, t time.Time) error {
	if t.IsZero() {
		return invalidf(what, "%s is not set", field)
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return invalidf(what, "%s %s is outside the years 1 to 9999", field, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// checkObjectJSON checks that raw is a single JSON object.
func checkObjectJSON(what, field string, raw json.RawMessage) error {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(raw) {
		return invalidf(what, "%s is not a JSON object", field)
	}
	return nil
}

// checkConfig checks what the protocol can tell about a ReplicaConfig
// without interpreting it: a positive step count, no negative counts, and
// only finite numbers (JSON has no NaN or infinity). Everything else is
// checked by package train, whose rejections are reported with
// CodeInvalidConfig.
func checkConfig(what string, c *ReplicaConfig) error {
	switch {
	case c.Steps < 1:
		return invalidf(what, "config.steps %d is less than 1", c.Steps)
	case c.EvalEvery < 0:
		return invalidf(what, "config.eval_every %d is negative", c.EvalEvery)
	case c.Batch < 0:
		return invalidf(what, "config.batch %d is negative", c.Batch)
	case c.BatchFraction < 0:
		return invalidf(what, "config.batch_fraction %v is negative", c.BatchFraction)
	case c.Data.SHA256 != "" && !ValidSHA256(c.Data.SHA256):
		return invalidf(what, "config.data.sha256 %s is not 64 lowercase hex digits", quote(c.Data.SHA256))
	case c.Data.TestSHA256 != "" && !ValidSHA256(c.Data.TestSHA256):
		return invalidf(what, "config.data.test_sha256 %s is not 64 lowercase hex digits", quote(c.Data.TestSHA256))
	}
	if path, x, ok := nonFinite(reflect.ValueOf(c).Elem(), "config"); ok {
		return invalidf(what, "%s is %v; only finite numbers can be sent", path, x)
	}
	return nil
}

// nonFinite returns the JSON path and value of the first NaN or infinite
// float64 in v, walking structs (by their JSON field names) and slices.
func nonFinite(v reflect.Value, path string) (string, float64, bool) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if x := v.Float(); math.IsNaN(x) || math.IsInf(x, 0) {
			return path, x, true
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nonFinite(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if p, x, ok := nonFinite(v.Field(i), path+"."+jsonName(f)); ok {
				return p, x, true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p, x, ok := nonFinite(v.Index(i), path+"["+strconv.Itoa(i)+"]"); ok {
				return p, x, true
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if p, x, ok := nonFinite(iter.Value(), path+"["+fmt.Sprint(iter.Key())+"]"); ok {
				return p, x, true
			}
		}
	}
	return "", 0, false
}

// jsonName returns the name under which encoding/json writes a field.
func jsonName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if tag == "" || tag == "-" {
		return f.Name
	}
	return tag
}
