package spec

// This file turns the YAML decoder's errors into lines a user can act on:
// the field, what was given, what is allowed, and for an unknown key the
// closest allowed one. The allowed keys and types come from the Spec
// struct by reflection, so a new field gets the same messages for free.

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/heatbath/heatbath/internal/suggest"
)

// FieldError is an error about one field of a spec: Field is its path
// ("methods[0].h", "steps"), Msg what is wrong with it. Line and Col are
// 0 when the field is not in a file (a default, or a spec built from
// flags). Error returns "file:line:col: field: msg".
type FieldError struct {
	File      string
	Line, Col int
	Field     string
	Msg       string
}

// Error formats the error as file:line:col: field: message.
func (e *FieldError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Col)
	}
	if e.Field == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Field + ": " + e.Msg
}

// decodeError explains an error of the YAML decoder in terms of the spec:
// the field (from the node at the error's position), what was given and
// what the field takes. ok is false for errors it does not know (syntax
// errors), which keep the decoder's own one-line message.
func (f *File) decodeError(err error) (*FieldError, bool) {
	var (
		unknown *yaml.UnknownFieldError
		typ     *yaml.TypeError
		node    *yaml.UnexpectedNodeTypeError
		over    *yaml.OverflowError
		dup     *yaml.DuplicateKeyError
		tk      *token.Token
	)
	switch {
	case errors.As(err, &unknown):
		tk = unknown.Token
	case errors.As(err, &typ):
		tk = typ.Token
	case errors.As(err, &node):
		tk = node.Token
	case errors.As(err, &over):
		tk = over.Token
	case errors.As(err, &dup):
		tk = dup.Token
	default:
		return nil, false
	}
	if tk == nil || tk.Position == nil {
		return nil, false
	}
	fe := &FieldError{File: f.Path, Line: tk.Position.Line, Col: tk.Position.Column}
	n := f.nodeAt(tk.Position)
	path := ""
	if n != nil {
		path = fieldPath(n.GetPath())
	}
	fe.Field = path
	switch {
	case unknown != nil:
		key := tk.Value
		parent := parentPath(path, key)
		keys := keysOf(typeAt(reflect.TypeOf(Spec{}), parent))
		fe.Field = joinPath(parent, key)
		fe.Msg = "unknown key" + suggest.Hint(key, keys)
		if len(keys) > 0 {
			where := "here"
			if parent != "" {
				where = "in " + parent
			}
			fe.Msg += fmt.Sprintf(" (keys %s: %s)", where, strings.Join(keys, ", "))
		}
	case typ != nil:
		fe.Msg = fmt.Sprintf("%s is %s; want %s", given(n, tk), kindOf(n), describeType(typ.DstType))
	case node != nil:
		// The node found may be inside the value (its first key): the
		// field is the nearest enclosing path of the expected kind.
		want := nodeKind(node.Expected)
		for p := path; ; p = trimLast(p) {
			if t := typeAt(reflect.TypeOf(Spec{}), p); t != nil && takes(t, node.Expected) {
				fe.Field, want = p, describeType(t)
				break
			}
			if p == "" {
				break
			}
		}
		fe.Msg = fmt.Sprintf("%s is %s; want %s", given(n, tk), nodeKind(node.Actual), want)
	case over != nil:
		fe.Msg = fmt.Sprintf("%s is out of range for %s", over.SrcNum, describeType(over.DstType))
	case dup != nil:
		fe.Field = joinPath(parentPath(path, tk.Value), tk.Value)
		fe.Msg = "the key is given twice"
	}
	return fe, true
}

// resolveFieldRE matches the field a Resolver's error starts with
// ("data.kind: ...", "method.groups[1].tau: ...").
var resolveFieldRE = regexp.MustCompile(`^([a-z_]+(?:\[\d+\])?(?:\.[a-z_0-9]+(?:\[\d+\])?)*): (.*)$`)

// resolveError turns an error of the Resolver for the method at path src
// ("methods[2]") into a *FieldError: a replica config's "method.X" is the
// spec's src.X, other fields have the same path in the spec. Errors that
// name no field are reported at the method.
func (f *File) resolveError(src string, err error) error {
	field, msg := src, err.Error()
	if m := resolveFieldRE.FindStringSubmatch(msg); m != nil {
		field, msg = m[1], m[2]
		switch {
		case field == "method":
			field = src
		case strings.HasPrefix(field, "method."):
			field = src + strings.TrimPrefix(field, "method")
		}
	}
	return f.errorf(field, "%s", msg)
}

// nodeAt returns the innermost node of the parsed file that starts at pos,
// or nil.
func (f *File) nodeAt(pos *token.Position) ast.Node {
	if f.ast == nil {
		return nil
	}
	v := &finder{line: pos.Line, col: pos.Column}
	for _, d := range f.ast.Docs {
		ast.Walk(v, d)
	}
	return v.found
}

type finder struct {
	line, col int
	found     ast.Node
}

// Visit records every node whose token is at the position: the last one
// is the innermost.
func (v *finder) Visit(n ast.Node) ast.Visitor {
	if n == nil {
		return nil
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line == v.line && tk.Position.Column == v.col {
		if _, ok := n.(*ast.DocumentNode); !ok {
			v.found = n
		}
	}
	return v
}

// parentPath is the path of the mapping that holds key, given the path of
// the node found at the key's position (the key itself, or its value).
func parentPath(path, key string) string {
	if path == key {
		return ""
	}
	if strings.HasSuffix(path, "."+key) {
		return strings.TrimSuffix(path, "."+key)
	}
	return path
}

// trimLast drops the last segment of a field path: "methods[0].h" →
// "methods[0]" → "methods" → "".
func trimLast(path string) string {
	if i := strings.LastIndexAny(path, ".["); i > 0 {
		return path[:i]
	}
	return ""
}

// takes reports whether a field of type t is written as a YAML node of
// kind k.
func takes(t reflect.Type, k ast.NodeType) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch k {
	case ast.SequenceType:
		return t.Kind() == reflect.Slice
	case ast.MappingType, ast.MappingValueType:
		return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
	}
	return false
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// typeAt follows a field path ("methods[0].hidden") from t through struct
// fields (by their YAML name, inline fields included), slices and
// pointers; nil when the path leaves the known types.
func typeAt(t reflect.Type, path string) reflect.Type {
	if path == "" {
		return t
	}
	for _, seg := range strings.Split(strings.ReplaceAll(path, "[", ".["), ".") {
		if seg == "" {
			continue
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if strings.HasPrefix(seg, "[") {
			if t.Kind() != reflect.Slice {
				return nil
			}
			t = t.Elem()
			continue
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		ft, ok := fieldByKey(t, seg)
		if !ok {
			return nil
		}
		t = ft
	}
	return t
}

// yamlFields lists the keys of struct t with their types, as the decoder
// reads them: the yaml tag, else the json tag, else the lower-cased field
// name; inline fields contribute their own keys.
func yamlFields(t reflect.Type, visit func(key string, ft reflect.Type)) {
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag, ok := sf.Tag.Lookup("yaml")
		if !ok {
			tag = sf.Tag.Get("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") || sf.Anonymous && name == "" {
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				yamlFields(ft, visit)
				continue
			}
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		visit(name, sf.Type)
	}
}

func fieldByKey(t reflect.Type, key string) (reflect.Type, bool) {
	var out reflect.Type
	yamlFields(t, func(k string, ft reflect.Type) {
		if k == key && out == nil {
			out = ft
		}
	})
	return out, out != nil
}

// keysOf returns the sorted keys of the struct type t (nil for other
// types). Types that read a mapping of their own (Ladder) list the keys of
// that mapping.
func keysOf(t reflect.Type) []string {
	if t == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	yamlFields(t, func(k string, ft reflect.Type) {
		if t == reflect.TypeOf(Ladder{}) && k == "values" {
			return // written as a plain list, not as a key
		}
		keys = append(keys, k)
	})
	sort.Strings(keys)
	return keys
}

// given quotes what the user wrote at the error's position: a scalar as
// written, a list or mapping as its first line.
func given(n ast.Node, tk *token.Token) string {
	s := tk.Value
	if n != nil {
		s = n.String()
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return strconv.Quote(s)
}

// kindOf names the kind of YAML value n is.
func kindOf(n ast.Node) string {
	if n == nil {
		return "a value"
	}
	return nodeKind(n.Type())
}

func nodeKind(t ast.NodeType) string {
	switch t {
	case ast.SequenceType:
		return "a list"
	case ast.MappingType, ast.MappingValueType:
		return "a mapping (key: value)"
	case ast.StringType:
		return "text"
	case ast.IntegerType:
		return "an integer"
	case ast.FloatType, ast.InfinityType, ast.NanType:
		return "a number"
	case ast.BoolType:
		return "true or false"
	case ast.NullType:
		return "empty"
	}
	return "a " + strings.ToLower(t.String())
}

// describeType says in words what a Go type of the spec takes.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeOf(Floats{}):
		return "a number or a list of numbers"
	case reflect.TypeOf(Seeds{}):
		return "a seed count or a list of seeds"
	case reflect.TypeOf(Ladder{}):
		return "a list of temperatures or a mapping {from, to, n, spacing}"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list of " + elemNoun(t.Elem())
	case reflect.Map:
		return "a mapping (key: value)"
	case reflect.Struct:
		if keys := keysOf(t); len(keys) > 0 {
			return "a mapping with keys " + strings.Join(keys, ", ")
		}
		return "a mapping (key: value)"
	}
	return "another kind of value"
}

// elemNoun names the elements of a list of t: "a list of " + elemNoun.
func elemNoun(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "whole numbers"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "non-negative whole numbers"
	case reflect.Float32, reflect.Float64:
		return "numbers"
	case reflect.String:
		return "names"
	case reflect.Struct, reflect.Map:
		return "mappings (- key: value)"
	}
	return "values"
}
