"""The built-in simulated inference server: vLLM's OpenAI-compatible API, timed by a batch model."""

from __future__ import annotations

from fleetgate.engine.app import EngineApp, create_engine_app
from fleetgate.engine.chat_request import count_prompt_tokens, prompt_text
from fleetgate.engine.options import EngineOptions, FaultSettings
from fleetgate.engine.scheduler import BatchScheduler, InstantTokens, TokenSource
from fleetgate.engine.server import engine_in_thread, run_engine
from fleetgate.engine.timers import InstantStepTimer, LinearStepTimer, step_timer_for

__all__ = [
    "BatchScheduler",
    "EngineApp",
    "EngineOptions",
    "FaultSettings",
    "InstantStepTimer",
    "InstantTokens",
    "LinearStepTimer",
    "TokenSource",
    "count_prompt_tokens",
    "create_engine_app",
    "engine_in_thread",
    "prompt_text",
    "run_engine",
    "step_timer_for",
]
