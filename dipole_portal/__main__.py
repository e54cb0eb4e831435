"""``python -m dipole_portal``: the command line."""

import sys

from dipole_portal.analysis.cli import main

if __name__ == "__main__":
    sys.exit(main())
