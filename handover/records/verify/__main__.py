import sys

from handover.records.verify.cli import main

sys.exit(main())
