"""``python -m checks.report DIR``: rebuild DIR/report.html from the files already in DIR."""

import sys

from checks.report import main

sys.exit(main())
