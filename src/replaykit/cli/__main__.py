from replaykit.cli import main

raise SystemExit(main())
