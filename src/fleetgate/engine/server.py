"""Serving the simulated engine with uvicorn: in the foreground (`run_engine`) or, for tests and
demos, in a background thread (`engine_in_thread`).

uvicorn picks uvloop and httptools when they are installed; the access log is off because the
engine sits under the gateway's overhead benchmark.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from fleetgate.engine.app import EngineApp, create_engine_app
from fleetgate.engine.options import EngineOptions
from fleetgate.engine.timers import timer_from_options
from fleetgate.seams import StepTimer


def uvicorn_config(
    app: EngineApp, options: EngineOptions, log_level: str = "info"
) -> uvicorn.Config:
    """The uvicorn configuration the engine runs under."""
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        loop="auto",
        http="auto",
        lifespan="on",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=2,
    )


def run_engine(options: EngineOptions, timer: StepTimer | None = None) -> None:
    """Serve one engine until interrupted; the timer defaults to the one the options describe."""
    app = create_engine_app(options, timer or timer_from_options(options))
    uvicorn.Server(uvicorn_config(app, options)).run()


@contextmanager
def engine_in_thread(
    options: EngineOptions, timer: StepTimer | None = None, *, startup_timeout: float = 15.0
) -> Iterator[EngineApp]:
    """Run an engine on `options.host:options.port` in a daemon thread while the block runs."""
    app = create_engine_app(options, timer or timer_from_options(options))
    server = uvicorn.Server(uvicorn_config(app, options, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"engine-{options.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the engine did not start on {options.host}:{options.port}")
        time.sleep(0.01)
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
