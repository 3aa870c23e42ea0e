import sys

from fleetdocs.cli.main import main

sys.exit(main())
