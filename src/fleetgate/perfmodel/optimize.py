"""A small Nelder-Mead minimizer (numpy only), used to fit efficiency factors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Vector = NDArray[np.float64]


def nelder_mead(
    objective: Callable[[Vector], float],
    start: Vector,
    *,
    step: float = 0.3,
    iterations: int = 600,
    tolerance: float = 1e-10,
) -> Vector:
    """The point near `start` where `objective` is smallest (downhill simplex)."""
    dimension = start.size
    simplex = [start.astype(np.float64)]
    for axis in range(dimension):
        vertex = start.astype(np.float64).copy()
        vertex[axis] += step
        simplex.append(vertex)
    values = [objective(vertex) for vertex in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if abs(values[-1] - values[0]) <= tolerance:
            break
        centroid = np.mean(simplex[:-1], axis=0)
        simplex, values = _move(objective, simplex, values, centroid)
    return simplex[int(np.argmin(values))]


def _move(
    objective: Callable[[Vector], float],
    simplex: list[Vector],
    values: list[float],
    centroid: Vector,
) -> tuple[list[Vector], list[float]]:
    worst = simplex[-1]
    reflected = centroid + (centroid - worst)
    reflected_value = objective(reflected)
    if reflected_value < values[0]:
        expanded = centroid + 2.0 * (centroid - worst)
        expanded_value = objective(expanded)
        if expanded_value < reflected_value:
            return [*simplex[:-1], expanded], [*values[:-1], expanded_value]
        return [*simplex[:-1], reflected], [*values[:-1], reflected_value]
    if reflected_value < values[-2]:
        return [*simplex[:-1], reflected], [*values[:-1], reflected_value]
    contracted = centroid + 0.5 * (worst - centroid)
    contracted_value = objective(contracted)
    if contracted_value < values[-1]:
        return [*simplex[:-1], contracted], [*values[:-1], contracted_value]
    best = simplex[0]
    shrunk = [best + 0.5 * (vertex - best) for vertex in simplex]
    return shrunk, [values[0], *(objective(vertex) for vertex in shrunk[1:])]
