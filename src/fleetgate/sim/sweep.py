"""Running scenarios: one run, a parameter sweep over local processes, or over a Ray cluster.

Owns `run_file` (load a scenario with overrides, simulate, return the result mapping), parsing
``--sweep PATH=V1,V2`` options into override sets (every combination), and fanning runs out
over a `ProcessPoolExecutor` or, with ``--ray ADDRESS``, Ray tasks (Ray is an optional extra:
``pip install 'fleetgate[ray]'``). A sweep loads and validates every run's scenario on the
driver and ships it loaded, with its trace CSV's text, so workers (other folders, other
machines) read no files. Each run is deterministic, so the fan-out changes nothing but the
wall-clock time.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from fleetgate.configfile import read_yaml
from fleetgate.errors import ConfigurationError
from fleetgate.sim.scenario import LoadedScenario, scenario_from_mapping
from fleetgate.sim.simulation import Progress, Simulation
from fleetgate.sim.trace import read_trace_text

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


def load_run(
    path: str, overrides: Overrides | None = None, seed: int | None = None
) -> LoadedScenario:
    """The scenario in `path` with `overrides` and `seed` applied, validated, its fleet loaded."""
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
    return loaded


def run_loaded(
    loaded: LoadedScenario, overrides: Overrides | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Simulate a loaded scenario; the result mapping (with `overrides`, when any, recorded)."""
    result = Simulation(loaded).run(progress).result
    if overrides:
        result["overrides"] = dict(overrides)
    return result


def run_file(
    path: str,
    overrides: Overrides | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate the scenario in `path` with `overrides` applied; the result mapping."""
    return run_loaded(load_run(path, overrides, seed), overrides, progress)


def self_contained(loaded: LoadedScenario, texts: dict[Path, str] | None = None) -> LoadedScenario:
    """`loaded` with the files it reads when run (a trace CSV) read in, to run anywhere.

    `texts` caches file contents across the runs of a sweep (one copy in the driver's memory).
    """
    trace = loaded.scenario.workload.trace
    if trace is not None and loaded.trace_text is None:
        path = loaded.resolve(trace.path)
        cache = {} if texts is None else texts
        if path not in cache:
            cache[path] = read_trace_text(path)
        loaded.trace_text = cache[path]
    return loaded


Job = tuple[LoadedScenario, dict[str, Any]]


def _run_one(job: Job) -> dict[str, Any]:
    loaded, overrides = job
    return run_loaded(loaded, overrides)


def run_many(
    path: str,
    override_sets: Sequence[dict[str, Any]],
    seed: int | None,
    workers: int,
    ray_address: str | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every run of a sweep, in the order given, over processes or Ray.

    Every scenario is loaded (and refused, if invalid) here before any runs; workers get it
    loaded, trace included, so they need fleetgate but neither the files nor this folder.
    """
    texts: dict[Path, str] = {}
    jobs = [
        (self_contained(load_run(path, overrides, seed), texts), dict(overrides))
        for overrides in override_sets
    ]
    if ray_address is not None:
        return _run_on_ray(jobs, ray_address, on_done)
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


def _run_on_ray(
    jobs: list[Job], address: str, on_done: Callable[[int], None] | None
) -> list[dict[str, Any]]:
    """Each job as a Ray task on the cluster at `address`; results in the jobs' order."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigurationError(
            "--ray: Ray is not installed; install the extra with pip install 'fleetgate[ray]'"
        ) from exc
    ray.init(address=address)
    try:
        remote = ray.remote(_run_one)
        refs = [remote.remote(job) for job in jobs]
        position = {ref: index for index, ref in enumerate(refs)}
        results: dict[int, dict[str, Any]] = {}
        pending = list(refs)
        while pending:  # as they finish, for `on_done`; a failed run raises here
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                results[position[ref]] = ray.get(ref)
            if on_done is not None:
                on_done(len(results))
        return [results[index] for index in range(len(refs))]
    finally:
        ray.shutdown()
