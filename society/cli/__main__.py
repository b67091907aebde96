"""``python -m society.cli``: the same command line as ``society``."""

import sys

from society.cli.main import main

sys.exit(main())
