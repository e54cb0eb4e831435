"""Stage 4: mplhep-styled figures (the paper's Figs. 1-3 and diagnostics); to be filled by issue 5."""
