"""Translation between the Anthropic Messages and OpenAI Chat Completions APIs.

`table.TRANSLATIONS` is the one place the (front door, backend protocol) matrix is written: for
each cell the upstream request builder, the complete-answer translator and the stream converter.
"""
