"""The built-in simulated inference server: vLLM's OpenAI-compatible API, timed by a batch model.

Callers import from the module that owns a name: `app` (the ASGI application), `options`,
`scheduler` (continuous batching on the real clock), `timers`, `server` (`run_engine`,
`engine_in_thread`); the `fleetgate engine` command is `fleetgate.cli.engine`.
"""
