"""fleetgate's offline tokenizer: a deterministic, network-free token count for any text.

Used wherever tokens must be counted without an upstream: input estimates at admission,
`count_tokens`, and the simulated engine's exact usage. A token is a run of at most four ASCII
letters, a run of at most three digits, one other non-space character, or a run of white space;
a leading space joins the token that follows it. English prose comes out near 1.3 tokens a word,
close to real BPE tokenizers.

`filler` writes deterministic text of exactly N tokens from a vocabulary of one-token words.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r" ?[A-Za-z]{1,4}| ?[0-9]{1,3}| ?[^\sA-Za-z0-9]|\s+")

FILLER_WORDS = (
    " the",
    " data",
    " flow",
    " gpu",
    " node",
    " site",
    " pool",
    " rack",
    " fan",
    " load",
    " path",
    " port",
    " rate",
    " unit",
    " grid",
    " core",
    " link",
    " time",
    " slot",
    " cell",
    " beam",
    " orb",
    " sun",
    " heat",
    " cool",
    " watt",
    " bus",
    " job",
    " run",
    " set",
)
"""Words that each count as exactly one token."""


def count_tokens(text: str) -> int:
    """The number of tokens in `text`."""
    return len(_TOKEN.findall(text))


def split_tokens(text: str) -> list[str]:
    """`text` cut into its tokens, in order; joining them gives `text` back."""
    return _TOKEN.findall(text)


def filler_token(index: int, seed: int = 0) -> str:
    """The `index`-th token of the filler stream for `seed` (pure, deterministic)."""
    mix = (index * 2654435761 + seed * 40503 + 12345) & 0xFFFFFFFF
    return FILLER_WORDS[mix % len(FILLER_WORDS)]


def filler(n_tokens: int, seed: int = 0) -> str:
    """Deterministic text of exactly `n_tokens` tokens."""
    return "".join(filler_token(i, seed) for i in range(n_tokens))
