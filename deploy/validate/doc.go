// Package validate holds the tests that check the deploy kit (deploy/**, the
// Dockerfile) with the parsers of the tools that run it. It is a nested
// module so that the main module does not depend on them.
package validate
