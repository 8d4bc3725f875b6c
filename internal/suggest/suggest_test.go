package suggest

import "testing"

// TestClosest: prefixes, near misses and case slips are suggested, far
// names are not.
func TestClosest(t *testing.T) {
	names := []string{"train", "validate", "run", "report", "step-size", "steps", "lr"}
	for in, want := range map[string]string{"trian": "train", "val": "validate", "rpeort": "report", "xyzzy": "", "repot": "report", "xyz": "",
		"rn": "run", "step": "steps", "z": "", "l": "", "rep": "report", "vali": "validate", "TRAIN": "train", "Report": "report", "runner": "run", "lrate": ""} {
		if got := Closest(in, names); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Closest("warning", []string{"trace", "debug", "info", "warn", "error"}); got != "warn" {
		t.Errorf(`Closest("warning") = %q, want "warn"`, got)
	}
	if got := Closest("spirals", []string{"trig", "spiral", "rings", "mnist", "csv"}); got != "spiral" {
		t.Errorf(`Closest("spirals") = %q, want "spiral"`, got)
	}
}

// TestUnknown: the message quotes the value, suggests the near name and
// lists every allowed one; a far value gets no suggestion.
func TestUnknown(t *testing.T) {
	kinds := []string{"trig", "spiral", "rings", "mnist", "csv"}
	for in, want := range map[string]string{
		"spirals": `"spirals" is unknown; did you mean "spiral"? (want trig, spiral, rings, mnist or csv)`,
		"xyzzy":   `"xyzzy" is unknown (want trig, spiral, rings, mnist or csv)`,
	} {
		if got := Unknown(in, kinds); got != want {
			t.Errorf("Unknown(%q) = %q, want %q", in, got, want)
		}
	}
	for n, want := range map[int]string{0: "nothing", 1: "a", 2: "a or b", 3: "a, b or c"} {
		if got := List([]string{"a", "b", "c"}[:n]); got != want {
			t.Errorf("List of %d = %q, want %q", n, got, want)
		}
	}
}

// TestEditDistance checks the Levenshtein distance on known pairs.
func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"spiral", "spirals", 1}, {"adam", "amad", 2}, {"flaw", "lawn", 2}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
