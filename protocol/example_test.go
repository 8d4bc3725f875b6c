package protocol_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/heatbath/heatbath/protocol"
)

func ExampleEncode() {
	chunk := &protocol.TrajChunk{
		Sweep: "s1", Replica: "r0000-1a2b3c4d", Attempt: 1, Seq: 0, After: -1,
		Columns: []string{"step", "train_loss", "val_loss"},
		Rows:    [][]float64{{0, 0.69, math.NaN()}, {100, math.Inf(1), math.NaN()}},
	}
	b, err := protocol.Encode(chunk)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"v":2,"sweep":"s1","replica":"r0000-1a2b3c4d","attempt":1,"seq":0,"after":-1,"columns":["step","train_loss","val_loss"],"rows":[[0,0.69,null],[100,"+Inf",null]]}
}

func ExampleDecodeFailure() {
	for _, in := range []string{
		`{"v":2,"sweep":"s1","replica":"r1","attempt":2,"worker":"w1","code":"diverged","message":"NaN loss","step":1200}`,
		`{"v":1,"sweep":"s1","replica":"r1","attempt":2,"worker":"w1","code":"diverged","message":"NaN loss","step":1200}`,
		`{"v":3,"sweep":"s1","replica":"r1","attempt":2,"worker":"w1","code":"diverged","message":"NaN loss","step":1200,"hint":"new"}`,
		`{"v":2,"sweep":"s1","replica":"r 1","attempt":2,"worker":"w1","code":"diverged","message":"NaN loss","step":1200}`,
		`{"v":2,"sweep":"s1","replica":"r1","attempt":2,"worker":"w1","code":"diverged","message":"NaN loss","step":1200} {}`,
	} {
		f, err := protocol.DecodeFailure([]byte(in))
		switch {
		case errors.Is(err, protocol.ErrVersion):
			fmt.Println("version:", err)
		case err != nil:
			fmt.Printf("%v: %v\n", protocol.CodeOf(err), err)
		default:
			fmt.Println(f.Code, f.Step, protocol.Deterministic(f.Code))
		}
	}
	// Output:
	// diverged 1200 true
	// version: protocol: message version 1, this build speaks version 2
	// version: protocol: message version 3, this build speaks version 2
	// invalid: protocol: failure: replica "r 1" is not a valid token
	// malformed: protocol: failure: malformed message: data after the JSON object
}

func ExampleCanTransition() {
	states := []protocol.State{protocol.StatePending, protocol.StateRunning, protocol.StatePreempted,
		protocol.StateDone, protocol.StateFailed, protocol.StateCancelled}
	for _, from := range states {
		fmt.Printf("%-9s →", from)
		for _, to := range states {
			if protocol.CanTransition(from, to) {
				fmt.Print(" ", to)
			}
		}
		fmt.Println()
	}
	// Output:
	// pending   → running failed cancelled
	// running   → running preempted done failed cancelled
	// preempted → running failed cancelled
	// done      →
	// failed    → pending
	// cancelled → pending
}
