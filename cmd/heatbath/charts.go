package main

import "github.com/heatbath/heatbath/ensemble"

// renderCharts draws the charts and report.html (package charts).
func renderCharts(runDir, outDir string, run *ensemble.Run, sum *ensemble.Summary) error {
	return nil
}
