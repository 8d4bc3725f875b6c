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
//
// Version 2 carries a Result's inline files as raw bytes after the JSON
// object (see Result) instead of base64 strings inside it.
const Version = 2

// MaxMessageSize is the largest encoded message, in bytes, that Encode
// produces and the decoders accept (8 MiB, the largest max_payload NATS
// recommends). The server's max_payload (1 MiB by default) may be lower:
// publishers keep messages small and put bulk data in the object store.
const MaxMessageSize = 8 << 20

// Encode validates m, sets its version field to Version and returns its
// encoding: the JSON object, followed for a Result with Files by '\n' and
// the files' contents (see Result; Encode first sets each file's Size to
// len(Data)). The error is an *Error: CodeInvalid when m is nil or fails
// validation, or when the encoding would exceed MaxMessageSize.
func Encode(m Message) ([]byte, error) {
	if m == nil || reflect.ValueOf(m).IsNil() {
		return nil, &Error{Code: CodeInvalid, Message: "protocol: encode: nil message"}
	}
	r, _ := m.(*Result)
	if r != nil {
		for i := range r.Files {
			r.Files[i].Size = len(r.Files[i].Data)
		}
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
	if r == nil || len(r.Files) == 0 {
		if len(b) > MaxMessageSize {
			return nil, invalidf(m.kind(), "encoding is %d bytes, more than the limit of %d", len(b), MaxMessageSize)
		}
		return b, nil
	}
	// The frame: the JSON object, '\n', the contents of the files.
	size := len(b) + 1
	for i := range r.Files {
		size += len(r.Files[i].Data)
	}
	if size > MaxMessageSize {
		return nil, invalidf(m.kind(), "encoding is %d bytes, more than the limit of %d", size, MaxMessageSize)
	}
	frame := make([]byte, 0, size)
	frame = append(append(frame, b...), '\n')
	for i := range r.Files {
		frame = append(frame, r.Files[i].Data...)
	}
	return frame, nil
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
//     null and empty decode alike), times become UTC, the retired
//     Result.Summary is compacted;
//  5. calls Validate, whose errors have CodeInvalid.
//
// The error is always an *Error; when it is not nil the message is nil.
func DecodeTask(data []byte) (*Task, error) { return decode[Task](data) }

// DecodeProgress decodes a Progress, as DecodeTask does.
func DecodeProgress(data []byte) (*Progress, error) { return decode[Progress](data) }

// DecodeTrajChunk decodes a TrajChunk, as DecodeTask does.
func DecodeTrajChunk(data []byte) (*TrajChunk, error) { return decode[TrajChunk](data) }

// DecodeResult decodes a Result frame (see Result). It finds the end of the
// JSON object with a byte scan, without decoding the bytes after it, and
// decodes the object as DecodeTask decodes a whole message (steps 1 to 4).
// It then checks the bytes after the object, with CodeMalformed: white
// space only when Files is empty, else exactly '\n' followed by the sum of
// the files' sizes, none negative. Last it binds each file's Data to its
// bytes and calls Validate.
//
// The decoded message aliases data: each Files[i].Data is a sub-slice of it
// (with its capacity cut to its length), so data must not be modified while
// the message is in use.
func DecodeResult(data []byte) (*Result, error) {
	const what = "result"
	if len(data) > MaxMessageSize {
		return nil, malformed(what, fmt.Sprintf("%d bytes, more than the limit of %d", len(data), MaxMessageSize))
	}
	head, tail := data, []byte(nil)
	if end := objectEnd(data); end >= 0 {
		head, tail = data[:end], data[end:]
	}
	m, err := decodeHead[Result](head)
	if err != nil {
		return nil, err
	}
	if err := bindFiles(m, tail); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// bindFiles checks the bytes that follow a Result's JSON object against the
// sizes it declares and points each file's Data at its bytes.
func bindFiles(m *Result, tail []byte) error {
	const what = "result"
	if len(m.Files) == 0 {
		if rest := bytes.TrimLeft(tail, jsonSpace); len(rest) > 0 {
			return malformed(what, fmt.Sprintf("data after the JSON object (%d bytes), but it lists no files", len(tail)))
		}
		return nil
	}
	total := 0
	for i := range m.Files {
		f := &m.Files[i]
		switch {
		case f.Size < 0:
			return malformed(what, fmt.Sprintf("file %d %s size %d is negative", i, quote(f.File), f.Size))
		case f.Size > MaxMessageSize:
			return malformed(what, fmt.Sprintf("file %d %s size %d is more than the limit of %d", i, quote(f.File), f.Size, MaxMessageSize))
		}
		total += f.Size
	}
	switch {
	case len(tail) == 0:
		return malformed(what, fmt.Sprintf(`files declare %d bytes, but nothing follows the JSON (want '\n' and the files' data)`, total))
	case tail[0] != '\n':
		return malformed(what, fmt.Sprintf(`files declare %d bytes, but the JSON is followed by %s, not by '\n'`, total, quote(string(tail[:min(len(tail), 8)]))))
	}
	body := tail[1:]
	if len(body) != total {
		return malformed(what, fmt.Sprintf("files declare %d bytes, %d follow the JSON", total, len(body)))
	}
	off := 0
	for i := range m.Files {
		f := &m.Files[i]
		if f.Size > 0 {
			f.Data = body[off : off+f.Size : off+f.Size]
		}
		off += f.Size
	}
	return nil
}

// objectEnd returns the offset just after the JSON object that data starts
// with (after optional white space), found by a byte scan that follows
// strings, their escapes and the nesting of brackets without checking
// anything else; -1 when data does not start with '{' or the brackets do
// not close. For a well-formed object the offset is exact, so the bytes
// after it are never scanned; for anything else the strict decoding of
// data[:end] (or of data, for -1) reports the error.
func objectEnd(data []byte) int {
	i := 0
	for i < len(data) && strings.IndexByte(jsonSpace, data[i]) >= 0 {
		i++
	}
	if i >= len(data) || data[i] != '{' {
		return -1
	}
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if i >= len(data) {
				return -1
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

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
	m, err := decodeHead[T, P](data)
	if err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeHead does the steps of decode but the last, Validate: it checks the
// envelope, decodes strictly and normalizes.
func decodeHead[T any, P interface {
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
	// The fast path: a byte scan of the top-level keys. It accepts only a
	// message it can read unambiguously (one top-level version key with an
	// acceptable value); anything else goes through the token scan below,
	// which gives the precise error. Well-formedness is checked by the
	// strict decode that follows either way.
	if raw, ok := scanVersion(data); ok && checkVersion(raw) == nil {
		return nil
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

// scanVersion finds the raw value of the only top-level key that encoding/json
// would match to "v" ("v" or "V", written without escapes) by scanning bytes:
// strings and their escapes, nesting depth, and top-level keys. ok is false
// when there is no such key, more than one, or anything it does not follow
// (an escaped top-level key, unbalanced brackets).
func scanVersion(data []byte) (raw []byte, ok bool) {
	depth, count := 0, 0
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			j := i + 1
			escaped := false
			for ; j < len(data) && data[j] != '"'; j++ {
				if data[j] == '\\' {
					escaped = true
					j++
				}
			}
			if j >= len(data) {
				return nil, false
			}
			if depth == 1 && expectKey {
				key := data[i+1 : j]
				if escaped {
					return nil, false // an escaped key might spell "v"
				}
				if len(key) == 1 && (key[0] == 'v' || key[0] == 'V') {
					k := j + 1
					for k < len(data) && strings.IndexByte(jsonSpace, data[k]) >= 0 {
						k++
					}
					if k >= len(data) || data[k] != ':' {
						return nil, false
					}
					k++
					for k < len(data) && strings.IndexByte(jsonSpace, data[k]) >= 0 {
						k++
					}
					end := k
					for end < len(data) && strings.IndexByte(",} \t\r\n", data[end]) < 0 {
						end++
					}
					raw = data[k:end]
					count++
				}
				expectKey = false
			}
			i = j
		case '{', '[':
			depth++
			expectKey = c == '{' && depth == 1
		case '}', ']':
			depth--
			if depth < 0 {
				return nil, false
			}
		case ',':
			expectKey = depth == 1
		}
	}
	return raw, count == 1 && depth == 0
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

// trajChunkJSON is the wire form of a TrajChunk; its rows are encoded and
// parsed by hand (appendRows, parseRows): chunks carry most of the bytes a
// sweep sends, and per-value (un)marshalers cost ~50× the data in garbage.
type trajChunkJSON struct {
	V       int             `json:"v"`
	Sweep   string          `json:"sweep"`
	Replica string          `json:"replica"`
	Attempt int             `json:"attempt"`
	Seq     int64           `json:"seq"`
	After   int64           `json:"after"`
	Columns []string        `json:"columns"`
	Rows    json.RawMessage `json:"rows,omitempty"`
}

// MarshalJSON encodes the chunk with NaN as null and the infinities as
// "+Inf" and "-Inf" (see TrajChunk).
func (m TrajChunk) MarshalJSON() ([]byte, error) {
	w := trajChunkJSON{V: m.V, Sweep: m.Sweep, Replica: m.Replica, Attempt: m.Attempt, Seq: m.Seq, After: m.After, Columns: m.Columns}
	if m.Rows != nil {
		w.Rows = appendWireRows(nil, m.Rows)
	} else {
		w.Rows = json.RawMessage("null")
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
	*m = TrajChunk{V: w.V, Sweep: w.Sweep, Replica: w.Replica, Attempt: w.Attempt, Seq: w.Seq, After: w.After, Columns: w.Columns}
	rows, err := parseWireRows(w.Rows)
	if err != nil {
		return err
	}
	m.Rows = rows
	return nil
}

// appendWireRows appends rows as a JSON array of arrays of wire floats.
func appendWireRows(b []byte, rows [][]float64) []byte {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		if r == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, x := range r {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendWireFloat(b, x)
		}
		b = append(b, ']')
	}
	return append(b, ']')
}

func appendWireFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "null"...)
	case math.IsInf(f, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Inf"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// parseWireRows parses the rows array. The JSON decoder has already
// checked that raw is valid JSON, so only its shape and the values are
// checked here: null, or an array whose elements are null or arrays of
// numbers, null, "+Inf" and "-Inf". All values share one backing array.
func parseWireRows(raw json.RawMessage) ([][]float64, error) {
	p := rowParser{b: raw}
	p.space()
	if p.lit("null") || len(raw) == 0 {
		return nil, nil
	}
	if !p.byte('[') {
		return nil, fmt.Errorf("trajectory rows: want an array")
	}
	var vals []float64
	var ends []int // end offset in vals of each row; -1 for a null row
	p.space()
	if !p.byte(']') {
		for {
			p.space()
			if p.lit("null") {
				ends = append(ends, -1)
			} else {
				if !p.byte('[') {
					return nil, fmt.Errorf("trajectory row %d: want an array", len(ends))
				}
				p.space()
				if !p.byte(']') {
					for {
						p.space()
						x, err := p.value()
						if err != nil {
							return nil, fmt.Errorf("trajectory row %d: %w", len(ends), err)
						}
						vals = append(vals, x)
						p.space()
						if p.byte(']') {
							break
						}
						if !p.byte(',') {
							return nil, fmt.Errorf("trajectory row %d: want ',' or ']'", len(ends))
						}
					}
				}
				ends = append(ends, len(vals))
			}
			p.space()
			if p.byte(']') {
				break
			}
			if !p.byte(',') {
				return nil, fmt.Errorf("trajectory rows: want ',' or ']'")
			}
		}
	}
	rows := make([][]float64, len(ends))
	start := 0
	for i, e := range ends {
		if e < 0 {
			continue
		}
		rows[i] = vals[start:e:e]
		start = e
	}
	return rows, nil
}

type rowParser struct {
	b []byte
	i int
}

func (p *rowParser) space() {
	for p.i < len(p.b) && strings.IndexByte(jsonSpace, p.b[p.i]) >= 0 {
		p.i++
	}
}

func (p *rowParser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *rowParser) lit(s string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		p.i += len(s)
		return true
	}
	return false
}

// value parses one trajectory value: a number, null, "+Inf" or "-Inf".
func (p *rowParser) value() (float64, error) {
	switch {
	case p.lit("null"):
		return math.NaN(), nil
	case p.i < len(p.b) && p.b[p.i] == '"':
		j := p.i + 1
		for j < len(p.b) && p.b[j] != '"' {
			if p.b[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(p.b) {
			return 0, fmt.Errorf("unterminated string")
		}
		tok := p.b[p.i : j+1]
		p.i = j + 1
		var s string
		if err := json.Unmarshal(tok, &s); err != nil {
			return 0, err
		}
		switch s {
		case "+Inf":
			return math.Inf(1), nil
		case "-Inf":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf(`trajectory value %s is not a number, null, "+Inf" or "-Inf"`, quote(string(tok)))
	case p.i < len(p.b) && (p.b[p.i] == '-' || '0' <= p.b[p.i] && p.b[p.i] <= '9'):
		j := p.i
		for j < len(p.b) && strings.IndexByte("+-.eE0123456789", p.b[j]) >= 0 {
			j++
		}
		tok := string(p.b[p.i:j])
		p.i = j
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			return 0, fmt.Errorf("trajectory value %s: %w", quote(tok), err)
		}
		return f, nil
	}
	end := min(p.i+16, len(p.b))
	return 0, fmt.Errorf(`trajectory value %s is not a number, null, "+Inf" or "-Inf"`, quote(string(p.b[p.i:end])))
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func itoa(i int) string { return strconv.Itoa(i) }
