"""``python -m dedup.serve --index LOCATION [--host H] [--port P] [--token-file F]``."""

import sys

from . import main

sys.exit(main())
