"""Stage 4: mplhep-styled figures: the paper's Figs. 1-3 over the existing limits, and diagnostics."""
