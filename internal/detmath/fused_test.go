//go:build amd64.v3 || !amd64

package detmath

// stdlibFused: the standard library was compiled with fused multiply-adds
// allowed (GOAMD64=v3) or is another architecture's code.
const stdlibFused = true
