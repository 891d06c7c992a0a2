"""`python -m raftkv.sim`."""

import sys

from .main import main

sys.exit(main())
