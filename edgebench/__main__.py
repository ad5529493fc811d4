import sys

from edgebench.cli import main

sys.exit(main())
