import sys

from plasticity.checks.cli import main

sys.exit(main())
