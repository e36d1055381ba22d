"""The rich console every command prints to: the terminal's width, or a wide one when piped.

Rich falls back to 80 columns when stdout is not a terminal, which squeezes fleetgate's wide
tables into unreadable stubs in logs, CI output and files; 160 columns keeps them whole.
"""

from __future__ import annotations

from rich.console import Console

PIPED_WIDTH = 160


def terminal_console() -> Console:
    """A console for stdout: the real width on a terminal, `PIPED_WIDTH` otherwise."""
    console = Console()
    return console if console.is_terminal else Console(width=PIPED_WIDTH)
