// Package sampler integrates the stochastic differential equations used for
// thermodynamic parameterization of neural networks (Leimkuhler, Matthews &
// Vlaar, "Partitioned integrators for thermodynamic parameterization of
// neural networks", Foundations of Data Science 1(4), 2019), together with
// the optimizers they are compared against, on one flat parameter vector.
//
// # Partitions
//
// The parameter vector is split into Groups of Tensors. Each group has its
// own integrator (Kind) and hyperparameters; the step size h is shared. LOL
// (Langevin on the hidden layer, overdamped Langevin on the output layer),
// AdLaLa (adaptive Langevin, then Langevin) and LaLa are partitions with two
// groups; deeper networks can use one group per layer. Every step costs one
// gradient evaluation, whatever the partition.
//
// # Update rules
//
// With R a fresh standard normal vector, g = ∇L̃ the minibatch gradient, and
// the sub-steps of algorithms.md §2:
//
//	A_f:  θ ← θ + f h p
//	B_f:  p ← p − f h g
//	O_h:  p ← c p + √((1 − c²) τ) R,   c = e^{−γh}
//	O∞:   p ← √τ R
//	C_f:  p ← e^{−ξ f h} p
//	D_f:  p ← p + σ_A √(f h) R
//	E_h:  ξ ← ξ + ε h (pᵀp − N τ),      N = size of the tensor ξ controls
//
// the integrators take these steps after an initial B_{h/2} on the first
// minibatch (merged kicks, algorithms.md §2.2):
//
//	Langevin (BAOAB, Leimkuhler & Matthews 2013):   A_{h/2} O_h A_{h/2}, gradient, B_h
//	Overdamped (Leimkuhler & Matthews 2013 scheme):  A_{h/2} O∞ A_{h/2}, gradient, B_h
//	Adaptive (ACDEDCAB, one ξ per tensor):          A_{h/2} C_{h/2} D_{h/2} E_h D_{h/2} C_{h/2} A_{h/2}, gradient, B_h
//
// The overdamped form equals the LM recurrence
// θ_{n+1} = θ_n − δ∇L̃(θ_n) + √(δτ/2)(R_n + R_{n+1}) with δ = h²/2 (after the
// first step, which carries δ/2). The optimizers use the gradient at θ_n:
//
//	SGD:       θ ← θ − h g
//	Momentum:  b ← μ b + g;  θ ← θ − h b                      (PyTorch optim.SGD)
//	Adam:      m ← m + (1−β₁)(g − m);  v ← β₂ v + (1−β₂) g²;
//	           θ ← θ − (h/(1−β₁ᵗ)) m / (√v/√(1−β₂ᵗ) + ε)      (PyTorch optim.Adam)
//	SGLD:      θ ← θ − h g + √(2hτ) R                          (Welling & Teh 2011)
//
// # Temperatures and schedules
//
// τ is a temperature on the scale of the mean minibatch loss: the Langevin
// groups sample exp(−L(θ)/τ) (algorithms.md §1). A Schedule multiplies τ
// over time; annealing to zero turns a sampler into an optimizer. σ_A is not
// scaled by τ, following the authors' code.
//
// # Replica exchange and cycles
//
// Exchange keeps the bookkeeping of replica exchange over a temperature
// ladder (swap rule, even/odd pairs, the minibatch criterion of Deng et
// al. 2020, round trips); Chain.ExchangeTau moves a chain to another rung,
// rescaling its momenta by √(τ_new/τ_old) and mapping ξ onto its
// equilibrium at the new τ. Plan runs
// a chain under a step-size Schedule and a Cycle (cyclical SG-MCMC, Zhang
// et al. 2020). See exchange.go and cyclical.go.
//
// # Diagnostics
//
// Each group with momenta records its kinetic temperature |p|²/N: after the
// O or O∞ stage for Langevin and Overdamped, and at the E-step (the momentum
// the thermostat controls) for Adaptive. In equilibrium it equals τ
// (equipartition). Thermostat variables ξ are reported per tensor.
//
// # Reproducibility
//
// A Chain owns its random source (nine xoshiro256++ streams 2¹²⁸ draws
// apart, the first seeded from the chain's two seeds through SplitMix64;
// see newNoiseSource in noise.go) and draws its normals (detmath.Normal's
// ziggurat, eight lanes at a time, the same bits in vector code and in Go)
// in a fixed order: groups in order, tensors in order, entries in order. The same seeds, settings, start and gradient oracle give the same
// bits. MarshalBinary captures the full state, so a restored chain continues
// bit for bit. Chains are not safe for concurrent use.
package sampler
