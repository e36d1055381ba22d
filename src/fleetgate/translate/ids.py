"""The ids minted for answers: Anthropic message ids and OpenAI chat completion ids.

The gateway mints them when it translates an answer; the simulated engine mints completion ids in
the same format, so both look alike on the wire.
"""

from __future__ import annotations

import secrets


def message_id() -> str:
    """An Anthropic message id, `msg_...`."""
    return "msg_" + secrets.token_hex(12)


def completion_id() -> str:
    """An OpenAI chat completion id, `chatcmpl-...`."""
    return "chatcmpl-" + secrets.token_hex(12)
