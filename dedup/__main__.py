"""``python -m dedup``: the same command line as the ``dedup`` script."""

import sys

from .cli import main

sys.exit(main())
