"""Talking to backends: OpenAI- and Anthropic-compatible adapters and translation between them."""
