"""``python -m stasis_app`` is the ``cti`` command."""

from stasis_app.cli import main

main()
