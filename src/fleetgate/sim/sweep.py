"""Running scenarios: one run, a parameter sweep over local processes, or over a Ray cluster.

Owns `run_file` (load a scenario with overrides, simulate, return the result mapping), parsing
``--sweep PATH=V1,V2`` options into override sets (every combination), and fanning runs out
over a `ProcessPoolExecutor` or, with ``--ray ADDRESS``, Ray tasks (Ray is an optional extra:
``pip install 'fleetgate[ray]'``). Each run is deterministic, so the fan-out changes nothing
but the wall-clock time.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from fleetgate.errors import ConfigurationError
from fleetgate.sim.scenario import scenario_from_mapping
from fleetgate.sim.simulation import Progress, Simulation
from fleetgate.sim.validation import read_yaml

Overrides = Mapping[str, Any]
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_sweep(options: Sequence[str]) -> list[dict[str, Any]]:
    """``["seed=1,2", "multipliers.pro:five_hour=1,2"]`` -> every combination of overrides."""
    axes: list[tuple[str, list[Any]]] = []
    for option in options:
        path, sep, values = option.partition("=")
        if not sep or not path.strip() or not values.strip():
            raise ConfigurationError(f"--sweep: expected PATH=V1,V2,..., got {option!r}")
        parsed = [yaml.safe_load(value) for value in values.split(",")]
        axes.append((path.strip(), parsed))
    if not axes:
        return [{}]
    names = [name for name, _ in axes]
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))
    ]


def apply_override(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` (``a.b[2].c``; keys may hold colons) in parsed YAML `data`."""
    parts: list[str | int] = []
    for name, index in _PART.findall(path):
        parts.append(int(index) if index else name)
    if not parts:
        raise ConfigurationError(f"--sweep: empty key path {path!r}")
    node: Any = data
    for position, part in enumerate(parts[:-1]):
        following = parts[position + 1]
        try:
            if isinstance(part, int):
                node = node[part]
            else:
                node = node.setdefault(part, [] if isinstance(following, int) else {})
        except (IndexError, KeyError, TypeError, AttributeError):
            raise ConfigurationError(f"--sweep: {path}: no such key in the scenario") from None
    last = parts[-1]
    try:
        node[last] = value
    except (IndexError, TypeError):
        raise ConfigurationError(f"--sweep: {path}: no such key in the scenario") from None


def run_file(
    path: str,
    overrides: Overrides | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate the scenario in `path` with `overrides` applied; the result mapping."""
    file = Path(path)
    data = read_yaml(file)
    if not isinstance(data, dict):
        raise ConfigurationError(f"{file}: expected a mapping at the top level")
    for key, value in (overrides or {}).items():
        apply_override(data, key, value)
    if seed is not None:
        data["seed"] = seed
    loaded = scenario_from_mapping(data, source=str(file), base=file.parent)
    loaded.source = file
    result = Simulation(loaded).run(progress).result
    if overrides:
        result["overrides"] = dict(overrides)
    return result


def _run_one(job: tuple[str, dict[str, Any], int | None]) -> dict[str, Any]:
    path, overrides, seed = job
    return run_file(path, overrides, seed)


def run_many(
    path: str,
    override_sets: Sequence[dict[str, Any]],
    seed: int | None,
    workers: int,
    ray_address: str | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every run of a sweep, in the order given, over processes or Ray."""
    jobs = [(path, overrides, seed) for overrides in override_sets]
    if ray_address is not None:
        return _run_on_ray(jobs, ray_address)
    if workers <= 1 or len(jobs) == 1:
        results = []
        for job in jobs:
            results.append(_run_one(job))
            if on_done is not None:
                on_done(len(results))
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = []
        for result in pool.map(_run_one, jobs):
            results.append(result)
            if on_done is not None:
                on_done(len(results))
        return results


def _run_on_ray(jobs: list[tuple[str, dict[str, Any], int | None]], address: str) -> list[Any]:
    try:
        import ray
    except ImportError as exc:
        raise ConfigurationError(
            "--ray: Ray is not installed; install the extra with pip install 'fleetgate[ray]'"
        ) from exc
    ray.init(address=address)
    try:
        remote = ray.remote(_run_one)
        return list(ray.get([remote.remote(job) for job in jobs]))
    finally:
        ray.shutdown()
