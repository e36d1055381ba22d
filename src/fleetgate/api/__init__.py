"""The front door: Anthropic Messages and OpenAI Chat Completions over HTTP."""
