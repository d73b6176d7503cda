import sys

from fzanalysis.cli import main

sys.exit(main())
