package spec

// HasTemperature reports whether groups integrated by kind (an integrator
// or a single method such as "sgld", "adaptive") have a temperature τ;
// sgd, momentum and adam do not.
func HasTemperature(kind string) bool { return temperatureKinds[kind] }
