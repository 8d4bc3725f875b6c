package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Version is the protocol version this build speaks. Every message carries
// it in its "v" field; a message of any other version is rejected with
// CodeVersion, never interpreted. Bump it for any change that an older
// decoder would misread or reject (a new field, a new meaning).
const Version = 1

// MaxMessageSize is the largest encoded message, in bytes, that Encode
// produces and the decoders accept (8 MiB, the largest max_payload NATS
// recommends). The server's max_payload (1 MiB by default) may be lower:
// publishers keep messages small and put bulk data in the object store.
const MaxMessageSize = 8 << 20

// Encode validates m, sets its version field to Version and returns its JSON
// encoding. The error is an *Error: CodeInvalid when m is nil or fails
// validation, or when the encoding would exceed MaxMessageSize.
func Encode(m Message) ([]byte, error) {
	if m == nil || reflect.ValueOf(m).IsNil() {
		return nil, &Error{Code: CodeInvalid, Message: "protocol: encode: nil message"}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	m.setVersion()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, &Error{Code: CodeInvalid, Message: "protocol: " + m.kind() + ": " + err.Error()}
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b) > MaxMessageSize {
		return nil, invalidf(m.kind(), "encoding is %d bytes, more than the limit of %d", len(b), MaxMessageSize)
	}
	return b, nil
}

// DecodeTask decodes a Task. Like every decoder of this package it
//
//  1. rejects input longer than MaxMessageSize, input that is not a single
//     JSON object (trailing data included), syntax errors and a repeated
//     "v" field, with CodeMalformed;
//  2. interprets only the top-level "v" field, and rejects a missing,
//     non-integer or different version with CodeVersion;
//  3. decodes strictly, rejecting unknown fields and values of the wrong
//     type with CodeMalformed;
//  4. normalizes: empty arrays and objects become nil (so that absent,
//     null and empty decode alike), times become UTC, Result.Summary is
//     compacted;
//  5. calls Validate, whose errors have CodeInvalid.
//
// The error is always an *Error; when it is not nil the message is nil.
func DecodeTask(data []byte) (*Task, error) { return decode[Task](data) }

// DecodeProgress decodes a Progress, as DecodeTask does.
func DecodeProgress(data []byte) (*Progress, error) { return decode[Progress](data) }

// DecodeTrajChunk decodes a TrajChunk, as DecodeTask does.
func DecodeTrajChunk(data []byte) (*TrajChunk, error) { return decode[TrajChunk](data) }

// DecodeResult decodes a Result, as DecodeTask does.
func DecodeResult(data []byte) (*Result, error) { return decode[Result](data) }

// DecodeFailure decodes a Failure, as DecodeTask does.
func DecodeFailure(data []byte) (*Failure, error) { return decode[Failure](data) }

// DecodeReplicaState decodes a ReplicaState, as DecodeTask does.
func DecodeReplicaState(data []byte) (*ReplicaState, error) { return decode[ReplicaState](data) }

// DecodeSweepRecord decodes a SweepRecord, as DecodeTask does.
func DecodeSweepRecord(data []byte) (*SweepRecord, error) { return decode[SweepRecord](data) }

func decode[T any, P interface {
	*T
	Message
}](data []byte) (P, error) {
	m := P(new(T))
	what := m.kind()
	if err := checkEnvelope(what, data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, malformed(what, syntaxDetail(err))
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], jsonSpace); len(rest) > 0 {
		return nil, malformed(what, "data after the JSON object")
	}
	normalize(reflect.ValueOf(m))
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

const jsonSpace = " \t\r\n"

// syntaxDetail describes a decoding error; the end of the input, which
// json.Decoder reports as io.EOF, is described as encoding/json does.
func syntaxDetail(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of JSON input"
	}
	return err.Error()
}

func malformed(what, detail string) error {
	return &Error{Code: CodeMalformed, Message: "protocol: " + what + ": malformed message: " + detail}
}

// checkEnvelope checks the size, that data is one JSON object, and its
// version, interpreting nothing else. It reads the top-level keys so that a
// second version field (encoding/json matches "v" and "V" and keeps the
// last) is refused rather than silently overriding the first.
func checkEnvelope(what string, data []byte) error {
	if len(data) > MaxMessageSize {
		return malformed(what, fmt.Sprintf("%d bytes, more than the limit of %d", len(data), MaxMessageSize))
	}
	if trimmed := bytes.TrimLeft(data, jsonSpace); len(trimmed) == 0 || trimmed[0] != '{' {
		return malformed(what, "not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the '{'
		return malformed(what, syntaxDetail(err))
	}
	var version json.RawMessage
	versions := 0
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return malformed(what, syntaxDetail(err))
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return malformed(what, syntaxDetail(err))
		}
		if k, _ := key.(string); strings.EqualFold(k, "v") {
			version = value
			versions++
		}
	}
	if _, err := dec.Token(); err != nil { // the '}'
		return malformed(what, syntaxDetail(err))
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], jsonSpace); len(rest) > 0 {
		return malformed(what, "data after the JSON object")
	}
	if versions > 1 {
		return malformed(what, `more than one version field "v"`)
	}
	return checkVersion(version)
}

// checkVersion checks the raw JSON value of the "v" field.
func checkVersion(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return &Error{Code: CodeVersion, Message: fmt.Sprintf(`protocol: message has no version (field "v"), this build speaks version %d`, Version)}
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return &Error{Code: CodeVersion, Message: fmt.Sprintf("protocol: message version %s is not an integer, this build speaks version %d", clip(string(raw)), Version)}
	}
	if v != Version {
		return &Error{Code: CodeVersion, Message: fmt.Sprintf("protocol: message version %d, this build speaks version %d", v, Version)}
	}
	return nil
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// normalize puts a decoded value in canonical form, in place: empty slices
// and maps become nil, times become UTC, and raw JSON is compacted. Encoding
// a normalized value and decoding the result gives a deeply equal value.
func normalize(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			normalize(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanSet() {
				v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normalize(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			if !v.IsNil() && v.CanSet() {
				v.SetZero()
			}
			return
		}
		if v.Type() == rawType {
			var buf bytes.Buffer
			if json.Compact(&buf, v.Bytes()) == nil && v.CanSet() {
				v.SetBytes(buf.Bytes())
			}
			return
		}
		switch v.Type().Elem().Kind() {
		case reflect.Uint8, reflect.Float64, reflect.Int, reflect.Int64, reflect.String, reflect.Bool:
			return // elements of these kinds need no normalizing
		}
		for i := range v.Len() {
			normalize(v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 && !v.IsNil() && v.CanSet() {
			v.SetZero()
		}
	}
}

// trajChunkJSON is the wire form of a TrajChunk: its rows hold wireFloats.
type trajChunkJSON struct {
	V       int           `json:"v"`
	Sweep   string        `json:"sweep"`
	Replica string        `json:"replica"`
	Attempt int           `json:"attempt"`
	Seq     int64         `json:"seq"`
	Columns []string      `json:"columns"`
	Rows    [][]wireFloat `json:"rows"`
}

// MarshalJSON encodes the chunk with NaN as null and the infinities as
// "+Inf" and "-Inf" (see TrajChunk).
func (m TrajChunk) MarshalJSON() ([]byte, error) {
	w := trajChunkJSON{V: m.V, Sweep: m.Sweep, Replica: m.Replica, Attempt: m.Attempt, Seq: m.Seq, Columns: m.Columns}
	if m.Rows != nil {
		w.Rows = make([][]wireFloat, len(m.Rows))
		for i, r := range m.Rows {
			if r != nil {
				w.Rows[i] = make([]wireFloat, len(r))
				for j, x := range r {
					w.Rows[i][j] = wireFloat(x)
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON decodes the form MarshalJSON writes, rejecting unknown
// fields.
func (m *TrajChunk) UnmarshalJSON(data []byte) error {
	var w trajChunkJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	*m = TrajChunk{V: w.V, Sweep: w.Sweep, Replica: w.Replica, Attempt: w.Attempt, Seq: w.Seq, Columns: w.Columns}
	if w.Rows != nil {
		m.Rows = make([][]float64, len(w.Rows))
		for i, r := range w.Rows {
			if r != nil {
				m.Rows[i] = make([]float64, len(r))
				for j, x := range r {
					m.Rows[i][j] = float64(x)
				}
			}
		}
	}
	return nil
}

// wireFloat is a float64 that JSON carries whole: NaN as null, ±Inf as the
// strings "+Inf" and "-Inf".
type wireFloat float64

func (x wireFloat) MarshalJSON() ([]byte, error) {
	f := float64(x)
	switch {
	case math.IsNaN(f):
		return []byte("null"), nil
	case math.IsInf(f, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (x *wireFloat) UnmarshalJSON(data []byte) error {
	switch {
	case string(data) == "null":
		*x = wireFloat(math.NaN())
		return nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		switch s {
		case "+Inf":
			*x = wireFloat(math.Inf(1))
			return nil
		case "-Inf":
			*x = wireFloat(math.Inf(-1))
			return nil
		}
	case len(data) > 0 && (data[0] == '-' || '0' <= data[0] && data[0] <= '9'):
		f, err := strconv.ParseFloat(string(data), 64)
		if err != nil {
			return fmt.Errorf("trajectory value %s: %w", quote(string(data)), err)
		}
		*x = wireFloat(f)
		return nil
	}
	return fmt.Errorf(`trajectory value %s is not a number, null, "+Inf" or "-Inf"`, quote(string(data)))
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func itoa(i int) string { return strconv.Itoa(i) }
