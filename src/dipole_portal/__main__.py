"""``python -m dipole_portal``: the command line."""

from dipole_portal.analysis.cli import console_main

if __name__ == "__main__":
    console_main()
