"""`python -m raftkv.cli`."""

import sys

from . import main

sys.exit(main())
