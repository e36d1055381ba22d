"""A tiny catalog with round numbers, so formulas can be checked against hand arithmetic."""

from __future__ import annotations

from fleetgate.perfmodel.catalog import HardwareCatalog

ROUND_GPUS = {
    "gpus": {
        "testgpu": {
            "aliases": ["tg"],
            "memory_gb": 100,
            "bandwidth_tb_s": 1.0,
            "bf16_tflops": 100,
            "fp8_tflops": 200,
            "fp4_tflops": None,
            "power_w": 500,
            "it_power_w": 1000,
            "scale_up_gb_s": 400,
            "scale_up_domain": 8,
            "source": "hand-made test GPU",
        }
    }
}

ROUND_MODELS = {
    "models": {
        "dense10": {
            "total_params_b": 10,
            "layers": 10,
            "hidden_size": 1000,
            "attention_heads": 10,
            "kv_heads": 2,
            "head_dim": 100,
            "max_context": 8192,
            "source": "hand-made dense model",
        },
        "moe": {
            "total_params_b": 50,
            "active_params_b": 14,
            "experts": 10,
            "experts_per_token": 1,
            "layers": 10,
            "hidden_size": 1000,
            "attention_heads": 10,
            "kv_heads": 2,
            "head_dim": 100,
            "max_context": 8192,
            "source": "hand-made MoE",
        },
    }
}


def round_catalog() -> HardwareCatalog:
    """GPU `testgpu` (100 GB, 1 TB/s, 100/200 TFLOP/s) and models `dense10`, `moe`."""
    return HardwareCatalog.from_documents(ROUND_GPUS, ROUND_MODELS)
