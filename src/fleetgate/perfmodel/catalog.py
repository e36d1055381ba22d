"""The GPU and model catalogs: loaded from the YAML files shipped in the package, looked up by
name or alias ("h100" -> "h100-sxm"), model names optionally suffixed with a precision
("llama-3.1-70b@fp8"). Unknown names are refused with the list of known ones.

The built-in catalog is parsed once and memoized; it is immutable (frozen specs in read-only
mappings), so sharing it holds no mutable state.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel import fields
from fleetgate.perfmodel.gpus import GpuSpec
from fleetgate.perfmodel.models import ModelShape
from fleetgate.perfmodel.precision import parse_precision


@dataclass(frozen=True, slots=True)
class HardwareCatalog:
    """GPUs and model shapes by canonical name, plus the alias table of each."""

    gpus: Mapping[str, GpuSpec]
    models: Mapping[str, ModelShape]
    gpu_aliases: Mapping[str, str]
    model_aliases: Mapping[str, str]

    @staticmethod
    def builtin() -> HardwareCatalog:
        """The catalog shipped with fleetgate (perfmodel/data/*.yaml)."""
        return _builtin_catalog()

    @classmethod
    def from_documents(cls, gpus_doc: Any, models_doc: Any) -> HardwareCatalog:
        """Build from parsed YAML documents `{gpus: {...}}` and `{models: {...}}`."""
        gpus = {
            name: GpuSpec.from_entry(name, entry, f"gpus.{name}")
            for name, entry in _section(gpus_doc, "gpus").items()
        }
        models = {
            name: ModelShape.from_entry(name, entry, f"models.{name}")
            for name, entry in _section(models_doc, "models").items()
        }
        return cls(
            gpus=MappingProxyType(gpus),
            models=MappingProxyType(models),
            gpu_aliases=MappingProxyType(_alias_table(gpus, "gpus")),
            model_aliases=MappingProxyType(_alias_table(models, "models")),
        )

    def gpu(self, name: str) -> GpuSpec:
        """The GPU called `name` (or an alias of it), else ConfigurationError."""
        key = _normalize(name)
        canonical = self.gpu_aliases.get(key)
        if canonical is None:
            raise ConfigurationError(f"unknown GPU {name!r}; known: {', '.join(sorted(self.gpus))}")
        return self.gpus[canonical]

    def model(self, name: str) -> ModelShape:
        """The model shape `name[@weights[/kv]]` (name or alias), else ConfigurationError."""
        base, _, precision = _normalize(name).partition("@")
        canonical = self.model_aliases.get(base)
        if canonical is None:
            raise ConfigurationError(
                f"unknown model {name!r}; known: {', '.join(sorted(self.models))}"
            )
        shape = self.models[canonical]
        if not precision:
            return shape
        weights_text, _, kv_text = precision.partition("/")
        weights = parse_precision(weights_text, path=f"model {name!r}: weight precision")
        kv = parse_precision(kv_text, path=f"model {name!r}: KV precision") if kv_text else None
        return shape.with_precision(weights, kv)


def _normalize(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"expected a non-empty name, got {name!r}")
    return name.strip().lower()


def _section(document: Any, key: str) -> Mapping[str, Mapping[str, Any]]:
    top = fields.mapping(document, "<document>")
    section = fields.mapping(top.get(key), key)
    for name, entry in section.items():
        fields.mapping(entry, f"{key}.{name}")
    return section


def _alias_table(
    entries: Mapping[str, GpuSpec] | Mapping[str, ModelShape], key: str
) -> dict[str, str]:
    table: dict[str, str] = {}
    for name, spec in entries.items():
        for alias in (name.lower(), *spec.aliases):
            owner = table.setdefault(alias, name)
            if owner != name:
                raise ConfigurationError(f"{key}.{name}.aliases: {alias!r} already names {owner!r}")
    return table


def read_builtin_data(filename: str) -> Any:
    """The parsed YAML of a data file shipped in fleetgate/perfmodel/data."""
    text = resources.files("fleetgate.perfmodel").joinpath("data", filename).read_text("utf-8")
    return yaml.safe_load(text)


@functools.cache
def _builtin_catalog() -> HardwareCatalog:
    return HardwareCatalog.from_documents(
        read_builtin_data("gpus.yaml"), read_builtin_data("models.yaml")
    )


def get_gpu(name: str) -> GpuSpec:
    """The built-in GPU `name` (aliases accepted)."""
    return HardwareCatalog.builtin().gpu(name)


def get_model(name: str) -> ModelShape:
    """The built-in model shape `name[@weights[/kv]]` (aliases accepted)."""
    return HardwareCatalog.builtin().model(name)


def gpu_names() -> tuple[str, ...]:
    """Canonical names of the built-in GPUs."""
    return tuple(sorted(HardwareCatalog.builtin().gpus))


def model_names() -> tuple[str, ...]:
    """Canonical names of the built-in model shapes."""
    return tuple(sorted(HardwareCatalog.builtin().models))
