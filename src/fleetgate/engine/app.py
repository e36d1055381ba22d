"""The simulated engine as a raw ASGI application: routing, the small endpoints, the lifespan.

`create_engine_app(options, timer)` builds one self-contained engine (its own scheduler, faults,
metrics; nothing global). Any `StepTimer` plugs in; an `InstantStepTimer` skips the scheduler.
Endpoints: `POST /v1/chat/completions`, `GET /v1/models`, `GET /health`, `GET /metrics`,
`GET`/`POST /fault`. Every error is answered in OpenAI's JSON error shape.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import orjson

from fleetgate.engine.asgi import ClientGone, Receive, Scope, Send, read_body, respond
from fleetgate.engine.chat import ChatCompletions
from fleetgate.engine.chat_request import parse_json_object
from fleetgate.engine.fault_injection import FaultState
from fleetgate.engine.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from fleetgate.engine.metrics import EngineCounters
from fleetgate.engine.options import EngineOptions
from fleetgate.engine.scheduler import BatchScheduler, InstantTokens, TokenSource
from fleetgate.engine.timers import InstantStepTimer
from fleetgate.engine.wire import error_body, models_body
from fleetgate.errors import ApiError, NotFound
from fleetgate.seams import StepTimer

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class EngineApp:
    """One simulated inference engine; call it as an ASGI application."""

    def __init__(self, options: EngineOptions, timer: StepTimer) -> None:
        self.options = options
        self.timer = timer
        instant = isinstance(timer, InstantStepTimer)
        self.source: TokenSource = (
            InstantTokens()
            if instant
            else BatchScheduler(timer, max_prefill_tokens=options.max_prefill_tokens)
        )
        self.faults = FaultState(options.faults, options.seed)
        self.metrics = EngineCounters(options.metrics_model_name)
        self._models_body = models_body(
            options.models, created=int(time.time()), max_model_len=options.max_model_len
        )
        chat = ChatCompletions(
            options,
            self.source,
            self.faults,
            self.metrics,
            kv_capacity_tokens=timer.kv_capacity_tokens,
            instant=instant,
        )
        self._routes: dict[str, dict[str, Handler]] = {
            "/v1/chat/completions": {"POST": chat},
            "/v1/models": {"GET": self._models},
            "/health": {"GET": self._health},
            "/metrics": {"GET": self._metrics},
            "/fault": {"GET": self._get_fault, "POST": self._set_fault},
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = self._routes.get(scope["path"])
        if methods is None:
            await respond(send, *error_body(NotFound(f"no route {scope['path']}")))
            return
        handler = methods.get(scope["method"])
        if handler is None:
            allowed = ", ".join(methods)
            body = {
                "error": {
                    "message": f"method {scope['method']} not allowed; use {allowed}",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
            await respond(send, 405, orjson.dumps(body))
            return
        await handler(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.source.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _models(self, scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, 200, self._models_body)

    async def _health(self, scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, 503 if self.faults.settings.unhealthy else 200, b"")

    async def _metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, 200, self.metrics.render(self.source), METRICS_CONTENT_TYPE)

    async def _get_fault(self, scope: Scope, receive: Receive, send: Send) -> None:
        await respond(send, 200, orjson.dumps(self.faults.settings.as_json()))

    async def _set_fault(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            changes = parse_json_object(await read_body(receive))
            settings = self.faults.update(changes)
        except ClientGone:
            return
        except ApiError as exc:
            await respond(send, *error_body(exc))
            return
        await respond(send, 200, orjson.dumps(settings.as_json()))


def create_engine_app(options: EngineOptions, timer: StepTimer) -> EngineApp:
    """A fresh engine ASGI application timed by `timer`."""
    return EngineApp(options, timer)
