"""The built-in simulated inference server: vLLM's OpenAI-compatible API, timed by a batch model."""

from __future__ import annotations

from fleetgate.engine.app import EngineApp, create_engine_app
from fleetgate.engine.chat_request import count_prompt_tokens, prompt_text
from fleetgate.engine.options import EngineOptions, InjectedFaults
from fleetgate.engine.scheduler import BatchScheduler, InstantTokens, TokenSource
from fleetgate.engine.server import engine_in_thread, run_engine
from fleetgate.engine.timers import InstantStepTimer, LinearStepTimer, timer_from_options

__all__ = [
    "BatchScheduler",
    "EngineApp",
    "EngineOptions",
    "InjectedFaults",
    "InstantStepTimer",
    "InstantTokens",
    "LinearStepTimer",
    "TokenSource",
    "count_prompt_tokens",
    "create_engine_app",
    "engine_in_thread",
    "prompt_text",
    "run_engine",
    "timer_from_options",
]
