"""The `fleetgate engine` command: parse options into `EngineOptions` and serve the engine."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from fleetgate.batching import DEFAULT_MAX_PREFILL_TOKENS
from fleetgate.engine.options import DEFAULT_MODEL, EngineOptions, InjectedFaults, parse_model_names
from fleetgate.engine.server import run_engine
from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.engine_timer import step_timer_for
from fleetgate.perfmodel.step_timer import RooflineStepTimer


def register(app: typer.Typer) -> None:
    """Add the `engine` command to the fleetgate CLI."""
    app.command(name="engine")(engine_command)


def engine_command(
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="Served model id; repeat it or give a comma list. [default: fleetgate-sim]"
        ),
    ] = None,
    max_model_len: Annotated[int, typer.Option(help="Context length (prompt + output).")] = 131_072,
    output_tokens: Annotated[
        int, typer.Option(help="Tokens per answer unless max_tokens is smaller or ignore_eos.")
    ] = 64,
    instant: Annotated[
        bool, typer.Option(help="Zero-time engine: no scheduler, answers at once.")
    ] = False,
    max_batch: Annotated[int, typer.Option(help="Most sequences decoded together.")] = 64,
    kv_capacity_tokens: Annotated[int, typer.Option(help="KV-cache capacity in tokens.")] = 200_000,
    max_prefill_tokens: Annotated[
        int, typer.Option(help="Prompt tokens one prefill step may take (vLLM's batch budget).")
    ] = DEFAULT_MAX_PREFILL_TOKENS,
    prefill_tokens_per_s: Annotated[float, typer.Option(help="Prefill speed.")] = 20_000.0,
    decode_step_ms: Annotated[float, typer.Option(help="Base time of a decode step.")] = 15.0,
    decode_step_ms_per_seq: Annotated[
        float, typer.Option(help="Decode step time added per running sequence.")
    ] = 0.2,
    decode_step_ms_per_1k_kv: Annotated[
        float, typer.Option(help="Decode step time added per 1000 KV tokens held.")
    ] = 0.05,
    error_rate: Annotated[float, typer.Option(help="Fraction of requests answered 500.")] = 0.0,
    extra_latency_ms: Annotated[float, typer.Option(help="Added before the first token.")] = 0.0,
    hang: Annotated[bool, typer.Option(help="Accept requests and never answer.")] = False,
    close_after_tokens: Annotated[
        int | None, typer.Option(help="Streams drop the connection after N tokens.")
    ] = None,
    unhealthy: Annotated[bool, typer.Option(help="GET /health answers 503.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
    gpu: Annotated[
        str | None, typer.Option(help="Time steps with the performance model on this GPU.")
    ] = None,
    model_shape: Annotated[
        str | None, typer.Option(help="Model shape the performance model times (with --gpu).")
    ] = None,
    tensor_parallel: Annotated[
        int, typer.Option(help="GPUs per replica for the performance model.")
    ] = 1,
) -> None:
    """Run the simulated inference engine (vLLM's OpenAI-compatible API and metrics)."""
    values = dict(locals())
    roofline = roofline_timer_from_cli(
        values.pop("gpu"), values.pop("model_shape"), values.pop("tensor_parallel"), max_batch
    )
    options = options_from_cli(values)
    mode = "instant" if instant else f"max batch {max_batch}, KV {kv_capacity_tokens} tokens"
    if roofline is not None:
        if instant:
            raise ConfigurationError("--instant and --gpu/--model-shape exclude each other")
        mode = f"{roofline!r}, max batch {roofline.max_batch}, KV {roofline.kv_capacity_tokens}"
    Console(stderr=True).print(
        f"fleetgate engine: {', '.join(options.models)} on http://{host}:{port} ({mode})",
        highlight=False,
    )
    if roofline is None:
        run_engine(options)
    else:
        run_engine(options, roofline)


def roofline_timer_from_cli(
    gpu: str | None, model_shape: str | None, tensor_parallel: int, max_batch: int
) -> RooflineStepTimer | None:
    """The performance model's timer when --gpu and --model-shape are given, else None."""
    if gpu is None and model_shape is None:
        return None
    if gpu is None or model_shape is None:
        raise ConfigurationError("--gpu and --model-shape must be given together")
    return step_timer_for(gpu, model_shape, tensor_parallel, batch_cap=max_batch)


def options_from_cli(values: dict[str, Any]) -> EngineOptions:
    """`EngineOptions` from the command's parameters (named as the options' fields)."""
    values = dict(values)
    faults = InjectedFaults(**{name: values.pop(name) for name in _FAULT_OPTIONS})
    models = parse_model_names(values.pop("model") or [DEFAULT_MODEL])
    return EngineOptions(models=models, faults=faults, **values)


_FAULT_OPTIONS = ("error_rate", "extra_latency_ms", "hang", "close_after_tokens", "unhealthy")
