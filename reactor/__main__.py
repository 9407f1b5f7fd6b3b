"""``python -m reactor``: the same as the ``reactor`` command."""

from reactor.cli import main

raise SystemExit(main())
