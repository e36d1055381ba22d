"""`POST /v1/chat/completions` of the simulated engine: validate, inject faults, generate, answer.

Tokens come from a `TokenSource` (the batch scheduler, or the zero-time source of `--instant`);
a client disconnect cancels the request wherever it waits, which takes its sequence out of the
queue or the batch at once. Streams are sent as SSE with every token available at a given moment
in one write; the close-after-tokens fault abandons the response so the connection drops.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import aclosing
from dataclasses import dataclass

from fleetgate.engine.asgi import (
    ClientGone,
    DisconnectWatch,
    Receive,
    Scope,
    Send,
    read_body,
    respond,
    start_event_stream,
)
from fleetgate.engine.chat_request import EngineChatRequest, parse_chat_request
from fleetgate.engine.fault_injection import FaultState
from fleetgate.engine.generation import OutputPlan, plan_output, resolve_max_tokens
from fleetgate.engine.metrics import EngineCounters
from fleetgate.engine.options import EngineOptions, InjectedFaults
from fleetgate.engine.scheduler import TokenSource
from fleetgate.engine.wire import ChunkWriter, completion_body, error_body
from fleetgate.errors import ApiError, InternalError
from fleetgate.translate.ids import completion_id
from fleetgate.translate.sse import OPENAI_DONE


@dataclass(frozen=True, slots=True)
class _Answer:
    """One request on its way out: what was asked, what will be said, under which faults."""

    request: EngineChatRequest
    plan: OutputPlan
    faults: InjectedFaults
    completion_id: str
    tool_call_id: str
    created: int


class ChatCompletions:
    """The chat completions endpoint of one engine."""

    def __init__(
        self,
        options: EngineOptions,
        source: TokenSource,
        faults: FaultState,
        metrics: EngineCounters,
        *,
        kv_capacity_tokens: int,
        instant: bool,
    ) -> None:
        self._options = options
        self._source = source
        self._faults = faults
        self._metrics = metrics
        self._kv_capacity_tokens = kv_capacity_tokens
        self._instant = instant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            answer = self._prepare(await read_body(receive))
        except ClientGone:
            return
        except ApiError as exc:
            await respond(send, *error_body(exc))
            return
        if self._faults.should_fail():
            self._metrics.record_failure()
            failure = InternalError("simulated engine failure (fault injection: error_rate)")
            await respond(send, *error_body(failure))
            return
        slow = answer.faults.hang or answer.faults.extra_latency_ms > 0
        watch = DisconnectWatch(receive) if slow or not self._instant else None
        try:
            await self._answer(answer, send, watch)
        except asyncio.CancelledError:
            if watch is None or not watch.absorb():
                raise
        finally:
            if watch is not None:
                watch.stop()

    def _prepare(self, body: bytes) -> _Answer:
        request = parse_chat_request(body, self._options.models)
        max_tokens = resolve_max_tokens(
            request,
            max_model_len=self._options.max_model_len,
            kv_capacity_tokens=self._kv_capacity_tokens,
        )
        plan = plan_output(
            request, max_tokens=max_tokens, output_tokens=self._options.output_tokens
        )
        return _Answer(
            request=request,
            plan=plan,
            faults=self._faults.settings,
            completion_id=completion_id(),
            tool_call_id=f"chatcmpl-tool-{uuid.uuid4().hex}",
            created=int(time.time()),
        )

    async def _answer(self, answer: _Answer, send: Send, watch: DisconnectWatch | None) -> None:
        if answer.faults.hang:
            await self._faults.wait_while_hanging()
        if answer.faults.extra_latency_ms > 0:
            await asyncio.sleep(answer.faults.extra_latency_ms / 1000.0)
        if answer.request.stream:
            await self._stream(answer, send, watch)
        else:
            await self._complete(answer, send, watch)

    async def _complete(self, answer: _Answer, send: Send, watch: DisconnectWatch | None) -> None:
        try:
            await self._generate_all(answer)
        except InternalError as exc:
            self._metrics.record_failure()
            await respond(send, *error_body(exc))
            return
        if watch is not None:
            watch.stop()
        body = completion_body(
            completion_id=answer.completion_id,
            created=answer.created,
            model=answer.request.model,
            plan=answer.plan,
            prompt_tokens=answer.request.prompt_tokens,
            tool_call_id=answer.tool_call_id,
        )
        self._metrics.record_success(answer.plan.finish_reason)
        await respond(send, 200, body)

    async def _generate_all(self, answer: _Answer) -> None:
        produced = 0
        prompt_counted = False
        tokens = self._source.stream(answer.request.prompt_tokens, answer.plan.length)
        try:
            async with aclosing(tokens):
                async for produced in tokens:  # noqa: B007 (read after the loop)
                    if not prompt_counted:
                        # The prompt counts once its prefill is done: at the first token.
                        self._metrics.record_prompt(answer.request.prompt_tokens)
                        prompt_counted = True
        finally:
            self._metrics.record_generated(produced)

    async def _stream(self, answer: _Answer, send: Send, watch: DisconnectWatch | None) -> None:
        request, plan = answer.request, answer.plan
        writer = ChunkWriter(
            completion_id=answer.completion_id,
            created=answer.created,
            model=request.model,
            include_usage=request.include_usage,
        )
        limit = answer.faults.close_after_tokens
        drop_at = limit if limit is not None and limit < plan.length else None
        await start_event_stream(send)
        await send({"type": "http.response.body", "body": writer.role(), "more_body": True})
        sent = produced = 0
        prompt_counted = False
        tokens = self._source.stream(request.prompt_tokens, plan.length)
        try:
            async with aclosing(tokens):
                async for produced in tokens:
                    if not prompt_counted:
                        self._metrics.record_prompt(request.prompt_tokens)
                        prompt_counted = True
                    upto = produced if drop_at is None else min(produced, drop_at)
                    events = self._events(writer, answer, sent, upto)
                    sent = upto
                    if events:
                        await send(
                            {"type": "http.response.body", "body": events, "more_body": True}
                        )
                    if drop_at is not None and sent >= drop_at:
                        break
        except InternalError as exc:
            await self._end_with_error(send, exc, watch)
            return
        finally:
            self._metrics.record_generated(produced)
        if watch is not None:
            watch.stop()
        if drop_at is not None:
            self._metrics.record_failure()
            return  # the response never completes: the server drops the connection
        closing = writer.finish(plan.finish_reason) + writer.usage(request.prompt_tokens, sent)
        self._metrics.record_success(plan.finish_reason)
        await send(
            {"type": "http.response.body", "body": closing + OPENAI_DONE, "more_body": False}
        )

    @staticmethod
    def _events(writer: ChunkWriter, answer: _Answer, sent: int, upto: int) -> bytes:
        plan = answer.plan
        events: list[bytes] = []
        if plan.tool_call is not None and sent == 0 and upto > 0:
            events.append(writer.tool_call_start(answer.tool_call_id, plan.tool_call.name))
        render = writer.content if plan.tool_call is None else writer.tool_arguments
        events.extend(render(piece) for piece in plan.pieces[sent:upto] if piece)
        return b"".join(events)

    async def _end_with_error(
        self, send: Send, error: InternalError, watch: DisconnectWatch | None
    ) -> None:
        if watch is not None:
            watch.stop()
        self._metrics.record_failure()
        _status, body = error_body(error)
        event = b"data: " + body + b"\n\n" + OPENAI_DONE
        await send({"type": "http.response.body", "body": event, "more_body": False})
