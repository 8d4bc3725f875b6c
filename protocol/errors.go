package protocol

import (
	"errors"
	"fmt"
	"strconv"
)

// Code classifies an error that crosses a process boundary: it travels in
// Failure messages and ReplicaState records, and decides whether a replica is
// retried. In JSON (and any other text form) a Code is its name, e.g.
// "invalid_config"; an unknown name does not decode.
type Code int

// The error codes. Their numeric values are stored and compared across
// builds, and their names are written to KV records, events and logs:
// never reorder, renumber, rename or reuse them; append new codes only.
const (
	// CodeUnknown is the zero Code: the error was not classified.
	CodeUnknown Code = 0
	// CodeMalformed: a message is not a single JSON object of the expected
	// shape (syntax error, wrong type, unknown field, trailing data, too
	// large).
	CodeMalformed Code = 1
	// CodeVersion: a message is missing its version or carries a version
	// other than Version.
	CodeVersion Code = 2
	// CodeInvalid: a message decoded but failed validation, or an argument
	// (an id, a subject token) is not acceptable.
	CodeInvalid Code = 3
	// CodeInvalidConfig: a replica configuration that can never run, on any
	// worker.
	CodeInvalidConfig Code = 4
	// CodeDiverged: the chain produced a non-finite value.
	CodeDiverged Code = 5
	// CodeCancelled: the sweep or the replica was cancelled.
	CodeCancelled Code = 6
	// CodeInternal: an unexpected failure on the reporting side (I/O, NATS,
	// a bug). Usually transient.
	CodeInternal Code = 7
	// CodeMaxDeliver: the task was delivered the maximum number of times
	// without completing (a poison task).
	CodeMaxDeliver Code = 8
	// CodeStale: an update from an attempt that has been superseded by a
	// newer one.
	CodeStale Code = 9
)

// codeNames is indexed by Code. Append only, in step with the constants.
var codeNames = [...]string{
	CodeUnknown:       "unknown",
	CodeMalformed:     "malformed",
	CodeVersion:       "version",
	CodeInvalid:       "invalid",
	CodeInvalidConfig: "invalid_config",
	CodeDiverged:      "diverged",
	CodeCancelled:     "cancelled",
	CodeInternal:      "internal",
	CodeMaxDeliver:    "max_deliver",
	CodeStale:         "stale",
}

// Valid reports whether c is one of the defined codes.
func (c Code) Valid() bool { return c >= 0 && int(c) < len(codeNames) }

// String returns the name of c ("invalid_config"), or "Code(n)" for an
// undefined value.
func (c Code) String() string {
	if c.Valid() {
		return codeNames[c]
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// ParseCode returns the Code whose name is s. Names are case-sensitive; an
// unknown name is an error of code CodeInvalid.
func ParseCode(s string) (Code, error) {
	for c, name := range codeNames {
		if name == s {
			return Code(c), nil
		}
	}
	return CodeUnknown, &Error{Code: CodeInvalid, Message: "protocol: unknown error code " + quote(s)}
}

// MarshalText encodes c as its name; an undefined code is an error.
func (c Code) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, &Error{Code: CodeInvalid, Message: "protocol: error code " + strconv.Itoa(int(c)) + " is not defined"}
	}
	return []byte(codeNames[c]), nil
}

// UnmarshalText decodes a code name as ParseCode does.
func (c *Code) UnmarshalText(text []byte) error {
	v, err := ParseCode(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Deterministic reports whether an error of this code will recur on every
// attempt, on any worker, so that the replica must not be retried: true for
// CodeInvalidConfig and CodeDiverged. Every other code may be transient or
// depends on the worker that saw it (a worker of an older build may reject a
// newer message with CodeVersion that another worker can run).
func Deterministic(code Code) bool {
	return code == CodeInvalidConfig || code == CodeDiverged
}

// Error is an error with a stable Code, the form in which errors cross
// process boundaries. Every error returned by this package is an *Error.
// Message is the complete, human-readable text; Error returns it as is.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Error returns e.Message, or "protocol: <code>" when the message is empty.
func (e *Error) Error() string {
	if e.Message == "" {
		return "protocol: " + e.Code.String()
	}
	return e.Message
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ErrInvalid) holds for every error of code CodeInvalid.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e != nil && t != nil && t.Code == e.Code
}

// Sentinels for the codes that decoding returns, for use with errors.Is.
// Any *Error of the same code matches, whatever its message.
var (
	// ErrMalformed matches errors of code CodeMalformed.
	ErrMalformed = &Error{Code: CodeMalformed, Message: "protocol: malformed message"}
	// ErrVersion matches errors of code CodeVersion.
	ErrVersion = &Error{Code: CodeVersion, Message: "protocol: unsupported message version"}
	// ErrInvalid matches errors of code CodeInvalid.
	ErrInvalid = &Error{Code: CodeInvalid, Message: "protocol: invalid message"}
)

// Errorf returns an *Error of the given code whose message is formatted as by
// fmt.Errorf (a %w verb is rendered as text; Error does not unwrap).
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Errorf(format, args...).Error()}
}

// CodeOf returns the Code of the first *Error in err's chain, or CodeUnknown
// when there is none (including when err is nil).
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e.Code
	}
	return CodeUnknown
}
