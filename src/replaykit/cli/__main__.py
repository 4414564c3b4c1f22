"""``python -m replaykit.cli``."""

from replaykit.cli import main

raise SystemExit(main())
