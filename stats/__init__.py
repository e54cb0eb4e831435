"""Stage 3: statistical models and expected 95% C.L. limits on the dipole coupling d."""
