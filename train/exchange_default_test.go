package train

import (
	"strings"
	"testing"
)

// TestExchangeDefaultEveryTooLong: a spec that leaves exchange.every at
// its default on a run shorter than the default is told that the value is
// the default and what to set, not "500 must lie in ..." for a number the
// user never wrote.
func TestExchangeDefaultEveryTooLong(t *testing.T) {
	cfg := exchangeConfig(EnergyFull)
	cfg.Exchange.Every = 0
	cfg.Steps = DefaultExchangeEvery - 1
	err := Resolve(&cfg)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"exchange.every", "the default", "set exchange.every"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
