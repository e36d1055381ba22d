"""Batching as clients see it and the instant mode."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
from engine_testkit import RunningEngine, running_engine, user


async def _time_to_first_token(client: openai.AsyncOpenAI, index: int) -> float:
    started = time.monotonic()
    stream = await client.chat.completions.create(
        model="fleetgate-sim", messages=user(f"request {index}"), max_tokens=10, stream=True
    )
    first: float | None = None
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.monotonic() - started
    assert first is not None
    return first


async def _load_with_probe(engine: RunningEngine) -> tuple[list[float], int]:
    peak_waiting = 0
    async with engine.async_client(timeout=30) as client, httpx.AsyncClient(timeout=5) as http:
        requests = [asyncio.create_task(_time_to_first_token(client, index)) for index in range(8)]
        while not all(task.done() for task in requests):
            text = (await http.get(f"{engine.url}/metrics")).text
            for line in text.splitlines():
                if line.startswith("vllm:num_requests_waiting{"):
                    peak_waiting = max(peak_waiting, int(float(line.split()[-1])))
            await asyncio.sleep(0.02)
        return [task.result() for task in requests], peak_waiting


def test_max_batch_queues_requests_and_later_ones_wait_longer() -> None:
    with running_engine(max_batch=2, decode_step_ms=20.0) as engine:
        ttfts, peak_waiting = asyncio.run(_load_with_probe(engine))
    assert peak_waiting > 0
    ttfts.sort()
    # four waves of two; each wave decodes ten 20 ms steps, so the last wave waits >= 0.6 s
    assert ttfts[-1] > ttfts[0] + 0.3


def test_instant_mode_answers_without_the_scheduler() -> None:
    with running_engine(instant=True, output_tokens=500) as engine:
        started = time.monotonic()
        with engine.client(timeout=5) as client:
            answer = client.chat.completions.create(model="fleetgate-sim", messages=user("x"))
            chunks = list(
                client.chat.completions.create(
                    model="fleetgate-sim", messages=user("x"), stream=True
                )
            )
        assert time.monotonic() - started < 5
        assert answer.usage is not None
        assert answer.usage.completion_tokens == 500
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == answer.choices[0].message.content
        assert engine.metric("vllm:num_requests_running") == 0
        assert engine.metric("vllm:generation_tokens_total") == 1000
