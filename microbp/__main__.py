"""`python -m microbp` runs the `microbp` command."""

from microbp.cli import main

raise SystemExit(main())
