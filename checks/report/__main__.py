"""``python -m plasticity.checks.report DIR``: rebuild DIR/report.html from the files already in DIR."""

import sys

from plasticity.checks.report import main

sys.exit(main())
