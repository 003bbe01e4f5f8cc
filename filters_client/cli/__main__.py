"""``python -m filters_client.cli``: the same as ``dsio-filters``."""

from . import main

raise SystemExit(main())
