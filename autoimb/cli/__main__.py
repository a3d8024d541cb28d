"""`python -m autoimb.cli`: the command line, as the `autoimb` script runs it."""

import sys

from autoimb.cli.main import main

sys.exit(main())
