package coordinator

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestStatusJSONDocumented: README.md names every field of `status
// --json` (FeedSnapshot and FeedReplica's JSON keys) in backquotes, so a
// field added or renamed shows up here until the README says so.
func TestStatusJSONDocumented(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, typ := range []reflect.Type{reflect.TypeFor[FeedSnapshot](), reflect.TypeFor[FeedReplica]()} {
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(readme, "`"+name+"`") {
				t.Errorf("README.md does not name %s's status --json field `%s`", typ.Name(), name)
			}
		}
	}
}
