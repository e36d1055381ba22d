"""Options shared by several command groups: the fleet file (`--config`, `-c`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The fleet file (fleet.yaml).", show_default=True)
]
"""The fleet file a command reads its settings from; every group defaults it to fleet.yaml."""
