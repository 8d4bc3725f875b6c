// Package liveview serves a local web page that follows a sweep as it runs:
// status counts, per-replica progress, learning curves by group with their
// 95% bands, the temperature ladder, and links to finished replicas' files
// when a run directory is at hand.
//
// It reads the snapshots of coordinator.FeedHistory, the feed of `heatbath
// status --watch` and the progress bars reading the progress events' whole
// history (so that curves start at the beginning also when the view starts
// mid-sweep), and turns each into a View (view.go): the
// curves are accumulated with ensemble.CurveAccumulator, the statistic of
// the report's learning curves (mean over seeds with a Student-t 95% band),
// each point at the step of the evaluation its progress event carries (on
// the replica's eval_every grid), and methods take the report's colours
// (charts.NewPalette). The page draws one row of panels per method, its
// groups in shades of the method's colour, every panel of a metric on the
// same axes.
//
// The page (assets/, embedded) draws its charts as SVG itself and follows
// the views through server-sent events (text/event-stream over net/http: a
// one-way stream of whole views, which the browser's EventSource
// reconnects by itself; no dependency is needed for that). It requests
// nothing but its own three assets, its event stream and the files it
// links to, and its Content-Security-Policy forbids anything else.
//
// Listen refuses an address that is not loopback unless credentials are
// given; with credentials every request needs them (HTTP basic auth).
// With Options.TLS (LoadTLS) the page is served over HTTPS, so that the
// credentials do not cross the network in the clear. URLs gives the
// addresses to print for a listener, usable from another machine also
// when it listens on every interface.
package liveview
