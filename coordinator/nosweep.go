package coordinator

import "fmt"

// NoSweepError is the error of a command on a sweep id of which the server
// has no trace (no manifest, record, replica or artifact): a typo, or a
// sweep deleted or submitted to another server. Callers tell it apart
// with errors.As, to point to the sweeps the server has.
type NoSweepError struct {
	Sweep string
}

// Error says which sweep is not on the server.
func (e *NoSweepError) Error() string {
	return fmt.Sprintf("coordinator: no sweep %q on this server", e.Sweep)
}
