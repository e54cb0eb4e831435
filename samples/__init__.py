"""Stage 1: physics models, event generators and ROOT output."""
