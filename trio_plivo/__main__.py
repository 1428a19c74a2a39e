"""``python -m trio_plivo`` is the ``trio-plivo`` command."""

import sys

from .cli import main

sys.exit(main())
