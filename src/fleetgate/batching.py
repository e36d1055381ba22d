"""Continuous batching, one step at a time: the rule the engine and the simulator share.

Owns what the next step of one engine replica does, given its queue and its batch:

* **admit**: waiting sequences join in FCFS order, none skipped, while the batch has a free slot
  (`max_batch`), their KV reservation fits (`kv_capacity`; a sequence reserves its whole context
  and every output token it will produce, so an admitted sequence never runs out of KV), and
  the prompt tokens of the step stay within `max_prefill_tokens`. The head of the queue is
  never held back by the token budget alone: a prompt longer than the budget is prefilled by
  itself, or it would wait forever;
* **prefill**: a step that admits sequences is their prefill; it stalls decoding and yields each
  one's first token;
* **decode**: any other step produces one token for every running sequence; with nothing
  running and nothing admissible the replica is idle.

The token budget is vLLM's `max_num_batched_tokens` (the reference behaviour: vLLM admits new
prompts while the step's tokens stay within it; with chunked prefill it would also split a long
prompt, which neither the engine nor the simulator models). Until issue 13 the simulator capped
a prefill step at 16,384 tokens and the engine had no cap, so under long prompts the engine ran
one arbitrarily long prefill step where the simulator (and vLLM) ran several; the cap won, for
both, with the simulator's default of 16,384.

Pure: no I/O, no clock. Callers own the time: the engine sleeps each step's duration on the real
clock (`fleetgate.engine.scheduler`), the simulator turns it into events on virtual time and
times runs of decode steps in closed form (`fleetgate.sim.batch_replica`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

DEFAULT_MAX_PREFILL_TOKENS = 16_384

StepKind = Literal["prefill", "decode", "idle"]


class Queued(Protocol):
    """A sequence waiting for admission, as the step planner sees it."""

    @property
    def prefill_tokens(self) -> int:
        """Prompt tokens its prefill computes (a cached prefix left out)."""
        ...

    @property
    def kv_need(self) -> int:
        """KV tokens reserved when it is admitted: its whole context and every output token."""
        ...


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """What one replica's batch may hold."""

    max_batch: int
    """Sequences running (or being prefilled) at once."""
    kv_capacity: int
    """KV cache, in tokens."""
    max_prefill_tokens: int = DEFAULT_MAX_PREFILL_TOKENS
    """Prompt tokens one prefill step may take (vLLM's max_num_batched_tokens)."""


def fits(head: Queued, limits: BatchLimits, *, running: int, kv_reserved: int) -> bool:
    """Whether the head of the queue can join the batch now (the token budget never stops it)."""
    return running < limits.max_batch and kv_reserved + head.kv_need <= limits.kv_capacity


def admit(waiting: Iterable[Queued], limits: BatchLimits, *, running: int, kv_reserved: int) -> int:
    """How many sequences from the head of `waiting` join the batch in the next step.

    `running` counts the sequences in the batch (decoding or being prefilled) and `kv_reserved`
    the KV tokens they hold.
    """
    slots = limits.max_batch - running
    room = limits.kv_capacity - kv_reserved
    budget = limits.max_prefill_tokens
    count = 0
    for job in waiting:
        if count >= slots:
            break
        need = job.kv_need
        if need > room:
            break
        tokens = job.prefill_tokens
        if count and tokens > budget:
            break
        count += 1
        room -= need
        budget -= tokens
    return count


def next_step(
    waiting: Iterable[Queued], limits: BatchLimits, *, running: int, kv_reserved: int
) -> tuple[StepKind, int]:
    """The next step and how many sequences it admits: a prefill of the admitted ones when any
    fit, else a decode step of the running batch, else idle."""
    count = admit(waiting, limits, running=running, kv_reserved=kv_reserved)
    if count:
        return "prefill", count
    return ("decode" if running else "idle"), 0
