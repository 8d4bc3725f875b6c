//go:build amd64 && !amd64.v3

package detmath

// stdlibFused: the standard library was compiled with fused multiply-adds
// allowed (GOAMD64=v3) or is another architecture's code.
const stdlibFused = false
