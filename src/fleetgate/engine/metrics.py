"""The engine's Prometheus metrics under vLLM's names, written as exposition text by hand.

Counters live on an `EngineCounters` instance owned by one app (no global registry); gauges are
read from the token source at scrape time. Every series carries `model_name`, the first served
model name, as vLLM labels them.
"""

from __future__ import annotations

from collections import Counter

from fleetgate.engine.scheduler import TokenSource

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class EngineCounters:
    """Counters of one engine, rendered with the live gauges on each scrape."""

    def __init__(self, model_name: str) -> None:
        self._label = 'model_name="' + _escape(model_name) + '"'
        self.prompt_tokens_total = 0
        self.generation_tokens_total = 0
        self.request_success_total: Counter[str] = Counter()
        self.request_failure_total = 0

    def record_prompt(self, tokens: int) -> None:
        """A request's prompt was processed."""
        self.prompt_tokens_total += tokens

    def record_generated(self, tokens: int) -> None:
        """Output tokens were produced (finished, cut short, or abandoned)."""
        self.generation_tokens_total += tokens

    def record_success(self, finish_reason: str) -> None:
        """A request finished normally with this finish reason."""
        self.request_success_total[finish_reason] += 1

    def record_failure(self) -> None:
        """A chat request was answered with an injected error or dropped."""
        self.request_failure_total += 1

    def render(self, source: TokenSource) -> bytes:
        """The exposition text for `GET /metrics`."""
        label = self._label
        kv = f"{source.kv_usage:.6f}"
        lines = [
            *_gauge(
                "vllm:num_requests_running",
                "Sequences in the running batch.",
                label,
                str(source.running),
            ),
            *_gauge(
                "vllm:num_requests_waiting",
                "Sequences waiting for admission.",
                label,
                str(source.waiting),
            ),
            *_gauge("vllm:gpu_cache_usage_perc", "KV-cache usage, 1 means 100 percent.", label, kv),
            *_gauge("vllm:kv_cache_usage_perc", "KV-cache usage, 1 means 100 percent.", label, kv),
            *_counter(
                "vllm:prompt_tokens_total",
                "Prefill tokens processed.",
                label,
                self.prompt_tokens_total,
            ),
            *_counter(
                "vllm:generation_tokens_total",
                "Generation tokens produced.",
                label,
                self.generation_tokens_total,
            ),
            "# HELP vllm:request_success_total Requests finished, by finish reason.",
            "# TYPE vllm:request_success_total counter",
        ]
        for reason in sorted({"stop", "length", "tool_calls", *self.request_success_total}):
            count = self.request_success_total[reason]
            lines.append(
                f'vllm:request_success_total{{finished_reason="{_escape(reason)}",{label}}} {count}'
            )
        lines.extend(
            _counter(
                "fleetgate:engine_request_failure_total",
                "Chat requests failed by an injected fault.",
                label,
                self.request_failure_total,
            )
        )
        return ("\n".join(lines) + "\n").encode()


def _gauge(name: str, help_text: str, label: str, value: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name}{{{label}}} {value}"]


def _counter(name: str, help_text: str, label: str, value: int) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name}{{{label}}} {value}"]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
