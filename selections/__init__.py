"""Stage 2: read sample ROOT files, apply named photon cuts, fill cut-flows and E_gamma-theta_gamma histograms."""
