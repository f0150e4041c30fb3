"""``python -m dedup.cli``: the same command line as the ``dedup`` script."""

import sys

from . import main

sys.exit(main())
