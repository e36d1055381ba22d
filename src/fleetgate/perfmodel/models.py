"""Model shapes: parameter counts, attention geometry, experts, weight and KV-cache precision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel import fields
from fleetgate.perfmodel.precision import Precision, bytes_per_element, parse_precision


@dataclass(frozen=True, slots=True)
class ModelShape:
    """What the roofline needs to know about a transformer (dense or mixture-of-experts).

    Parameters are in billions. For a mixture of experts, `experts` routed experts with
    `experts_per_token` chosen per token; the per-expert size and the always-active part
    (attention, embeddings, shared experts) follow from total and active counts.
    Multi-head latent attention (DeepSeek) is described by `kv_lora_rank` + `rope_head_dim`.
    Layers with a short sliding attention window (`sliding_window_layers`, gpt-oss) hold a
    bounded KV per sequence; the per-token KV counts only the full-attention layers.
    """

    name: str
    total_params_b: float
    active_params_b: float
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    weight_precision: Precision
    kv_precision: Precision
    max_context: int
    source: str
    experts: int = 1
    experts_per_token: int = 1
    kv_lora_rank: int = 0
    rope_head_dim: int = 0
    sliding_window_layers: int = 0
    aliases: tuple[str, ...] = ()

    @property
    def is_moe(self) -> bool:
        """True for a mixture-of-experts model."""
        return self.experts > 1

    @property
    def uses_mla(self) -> bool:
        """True when the KV cache holds a compressed latent (multi-head latent attention)."""
        return self.kv_lora_rank > 0

    @property
    def total_params(self) -> float:
        """Every parameter stored in memory."""
        return self.total_params_b * 1e9

    @property
    def active_params(self) -> float:
        """Parameters one token multiplies through (2 FLOPs each)."""
        return self.active_params_b * 1e9

    @property
    def expert_params(self) -> float:
        """Parameters of one routed expert summed over all MoE layers (0 for dense models)."""
        if not self.is_moe:
            return 0.0
        return (self.total_params - self.active_params) / (self.experts - self.experts_per_token)

    @property
    def always_active_params(self) -> float:
        """Parameters every token uses: all of a dense model, the non-routed part of an MoE."""
        return self.active_params - self.experts_per_token * self.expert_params

    @property
    def weight_bytes(self) -> float:
        """Bytes all weights take in memory at `weight_precision`."""
        return self.total_params * bytes_per_element(self.weight_precision)

    @property
    def kv_bytes_per_token(self) -> float:
        """KV-cache bytes one token of context takes (one copy, whole model).

        Standard / grouped-query attention: 2 (K and V) * layers * kv_heads * head_dim * bytes.
        Latent attention: layers * (kv_lora_rank + rope_head_dim) * bytes.
        """
        element = bytes_per_element(self.kv_precision)
        full_layers = self.layers - self.sliding_window_layers
        if self.uses_mla:
            return full_layers * (self.kv_lora_rank + self.rope_head_dim) * element
        return 2 * full_layers * self.kv_heads * self.head_dim * element

    @property
    def attention_dim(self) -> int:
        """Width of the query projection (heads * head_dim): sets attention FLOPs."""
        return self.attention_heads * self.head_dim

    def params_read(self, tokens: float) -> float:
        """Parameters read from memory for a forward pass over `tokens` tokens.

        Dense: all of them. MoE: the always-active part plus the distinct experts the tokens
        touch, expected under uniform routing: E * (1 - (1 - k/E)^tokens) experts per layer.
        """
        if not self.is_moe:
            return self.total_params
        share_untouched: float = (1.0 - self.experts_per_token / self.experts) ** max(tokens, 1.0)
        touched = self.experts * (1.0 - share_untouched)
        return self.always_active_params + touched * self.expert_params

    def with_precision(self, weights: Precision, kv: Precision | None = None) -> ModelShape:
        """The same model quantized: `weights`, and `kv` (default: weights, but fp4 -> fp8)."""
        kv_precision = kv if kv is not None else ("fp8" if weights == "fp4" else weights)
        suffix = weights if kv is None else f"{weights}/{kv}"
        base = self.name.split("@", 1)[0]
        return replace(
            self,
            name=f"{base}@{suffix}",
            weight_precision=weights,
            kv_precision=kv_precision,
            aliases=(),
        )

    @classmethod
    def from_entry(cls, name: str, entry: Mapping[str, Any], path: str) -> ModelShape:
        """Build from one catalog entry (a YAML mapping), refusing bad fields by key path."""
        shape = cls(
            name=name,
            total_params_b=fields.positive_number(entry, "total_params_b", path),
            active_params_b=fields.positive_number(
                entry, "active_params_b", path, entry.get("total_params_b")
            ),
            layers=fields.count(entry, "layers", path),
            hidden_size=fields.count(entry, "hidden_size", path),
            attention_heads=fields.count(entry, "attention_heads", path),
            kv_heads=fields.count(entry, "kv_heads", path),
            head_dim=fields.count(entry, "head_dim", path),
            weight_precision=parse_precision(
                entry.get("weight_precision", "bf16"), path=f"{path}.weight_precision"
            ),
            kv_precision=parse_precision(
                entry.get("kv_precision", "bf16"), path=f"{path}.kv_precision"
            ),
            max_context=fields.count(entry, "max_context", path),
            source=fields.text(entry, "source", path),
            experts=fields.count(entry, "experts", path, 1),
            experts_per_token=fields.count(entry, "experts_per_token", path, 1),
            kv_lora_rank=fields.check_count(
                entry.get("kv_lora_rank", 0), f"{path}.kv_lora_rank", minimum=0
            ),
            rope_head_dim=fields.check_count(
                entry.get("rope_head_dim", 0), f"{path}.rope_head_dim", minimum=0
            ),
            sliding_window_layers=fields.check_count(
                entry.get("sliding_window_layers", 0), f"{path}.sliding_window_layers", minimum=0
            ),
            aliases=fields.names(entry, "aliases", path),
        )
        _check_consistency(shape, path)
        return shape


def _check_consistency(shape: ModelShape, path: str) -> None:
    if shape.active_params_b > shape.total_params_b:
        raise ConfigurationError(
            f"{path}.active_params_b: {shape.active_params_b} exceeds total_params_b "
            f"{shape.total_params_b}"
        )
    if shape.experts_per_token > shape.experts:
        raise ConfigurationError(
            f"{path}.experts_per_token: {shape.experts_per_token} exceeds experts {shape.experts}"
        )
    if shape.is_moe and shape.experts_per_token == shape.experts:
        raise ConfigurationError(
            f"{path}.experts_per_token: must be fewer than experts for a mixture of experts"
        )
    if shape.is_moe and shape.active_params_b >= shape.total_params_b:
        raise ConfigurationError(
            f"{path}.active_params_b: a mixture of experts activates fewer than all parameters"
        )
    if shape.sliding_window_layers >= shape.layers:
        raise ConfigurationError(
            f"{path}.sliding_window_layers: must be fewer than layers ({shape.layers})"
        )
    if shape.kv_heads > shape.attention_heads:
        raise ConfigurationError(
            f"{path}.kv_heads: {shape.kv_heads} exceeds attention_heads {shape.attention_heads}"
        )
