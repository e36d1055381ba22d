"""`python -m fleetgate` runs the command line."""

from __future__ import annotations

from fleetgate.cli.main import main

main()
