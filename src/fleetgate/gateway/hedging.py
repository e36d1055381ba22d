"""Optional hedging of non-streaming requests (`routing.hedging`).

A non-streaming request that has not been answered after the `after_percentile` latency of its
model's recent non-streaming answers gets a second attempt on another backend (another site
first); the first good answer wins and the other attempt is cancelled, its load released without
a verdict on its backend. Hedges are capped at `max_share` of hedge-eligible requests over a
rolling minute, so a slow fleet is not handed twice its load. The client is charged once: the
call has one admission and one settlement whichever attempt wins.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from fleetgate.errors import ApiError
from fleetgate.gateway.access_log import AccessRecord
from fleetgate.gateway.attempt import Opened, send_attempt
from fleetgate.gateway.call import Call
from fleetgate.routing.policies import RouteRequest
from fleetgate.routing.router import RouteDecision

if TYPE_CHECKING:
    from fleetgate.gateway.state import Gateway


async def send_hedged(
    gw: Gateway,
    call: Call,
    request: RouteRequest,
    decision: RouteDecision,
    delay_s: float,
    tried: set[str],
    record: AccessRecord,
) -> Opened:
    """Send to `decision`'s backend; after `delay_s` without an answer, also to a second one."""
    stats = gw.fleet_runtime.hedges
    stats.count_eligible(time.monotonic())
    tried.add(decision.backend.id)
    primary = asyncio.ensure_future(send_attempt(gw, call, decision, record))
    try:
        done, _ = await asyncio.wait({primary}, timeout=delay_s)
    except BaseException:  # the client left while the first attempt was out
        await cancel_and_release(gw, {primary})
        raise
    if done:
        return primary.result()
    second = _second_choice(gw, call, request, tried)
    if second is None or not stats.try_hedge(time.monotonic()):
        return await primary
    tried.add(second.backend.id)
    record.hedged = True
    gw.metrics.retries.inc()
    secondary = asyncio.ensure_future(send_attempt(gw, call, second, record))
    return await first_good(gw, [primary, secondary])


def _second_choice(
    gw: Gateway, call: Call, request: RouteRequest, tried: set[str]
) -> RouteDecision | None:
    try:
        return gw.router.decide(
            request, call.tenant, gw.now(), gw.rng, exclude=frozenset(tried), first_attempt=False
        )
    except ApiError:
        return None


async def first_good(gw: Gateway, tasks: list[asyncio.Future[Opened]]) -> Opened:
    """The first attempt that answers; the others are cancelled and released. When all fail,
    the last failure is raised."""
    pending = set(tasks)
    error: BaseException | None = None
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            answered = [t.result() for t in done if t.exception() is None]
            error = next((t.exception() for t in done if t.exception() is not None), error)
            if answered:
                for extra in answered[1:]:
                    _release(gw, extra)
                return answered[0]
        assert error is not None
        raise error
    finally:
        await cancel_and_release(gw, pending)


async def cancel_and_release(gw: Gateway, tasks: set[asyncio.Future[Opened]]) -> None:
    """Cancel attempts still out; one that answered meanwhile is closed and released."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and task.exception() is None:
                _release(gw, task.result())


def _release(gw: Gateway, opened: Opened) -> None:
    """Drop an answer that lost the race: close it, release its load without a verdict."""
    opened.response.close()
    gw.fleet.finish(
        opened.backend.id,
        ok=True,
        tokens=opened.tokens,
        now=gw.now(),
        rng=gw.rng,
        record_outcome=False,
    )
