"""fleetgate: turns GPU capacity into usage limits.

An Anthropic/OpenAI-compatible gateway in front of a fleet of inference clusters, with plan and
tier limits, fleet routing, a capacity planner and a discrete-event simulator, all sharing one
pure core (limits, routing policies, performance model).
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
