"""Stable hashing for affinity: the same key maps to the same backend in every gateway replica.

Python's `hash()` is salted per process, so it cannot be used: two replicas would disagree about
where a session lives. `stable_hash` is BLAKE2b; `rendezvous_scores` is weighted rendezvous
(highest random weight) hashing over numpy vectors, so 1,000 backends cost microseconds and a
backend leaving the set moves only the keys that lived on it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

_SHIFT = np.uint64(32)
_TOP53 = np.uint64(11)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_UNIT = 2.0**-53


def stable_hash(*parts: str) -> int:
    """A 64-bit hash of `parts` (joined unambiguously) that is the same in every process."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        encoded = part.encode("utf-8")
        digest.update(len(encoded).to_bytes(4, "little"))
        digest.update(encoded)
    return int.from_bytes(digest.digest(), "little")


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """A multiply-xorshift finalizer; inputs are already uniform (BLAKE2b salts xor a key)."""
    z = values * _MIX1
    z ^= z >> _SHIFT
    z *= _MIX2
    return z


def rendezvous_scores(
    key_hash: int, salts: npt.NDArray[np.uint64], weights: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Weighted rendezvous score of every salt for `key_hash`: the highest score wins, and a
    backend wins a share of keys proportional to its weight."""
    mixed = _mix(salts ^ np.uint64(key_hash))
    unit = ((mixed >> _TOP53).astype(np.float64) + 0.5) * _UNIT
    scores: npt.NDArray[np.float64] = -weights / np.log(unit)
    return scores
