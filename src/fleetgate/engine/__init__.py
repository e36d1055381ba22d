"""The built-in simulated inference server: vLLM's OpenAI-compatible API, timed by a batch model."""
