import sys

from snnrs.cli import main

sys.exit(main())
