"""HardwareCatalog lookups, shapes against published figures, and refusal of bad entries."""

from __future__ import annotations

import copy

import pytest
from perfmodel_helpers import ROUND_GPUS, ROUND_MODELS, round_catalog

from fleetgate.errors import ConfigurationError
from fleetgate.perfmodel.catalog import HardwareCatalog, get_gpu, get_model, gpu_names, model_names


def test_builtin_catalog_has_the_required_gpus_and_shapes() -> None:
    assert {"h100-sxm", "h200", "b200", "gb200", "gb300"} <= set(gpu_names())
    required = {"llama-3.1-8b", "llama-3.1-70b", "llama-2-70b", "llama-3.1-405b"}
    assert required | {"mixtral-8x7b", "deepseek-v3", "qwen3-235b-a22b"} <= set(model_names())
    for gpu in HardwareCatalog.builtin().gpus.values():
        assert gpu.source
    for shape in HardwareCatalog.builtin().models.values():
        assert shape.source


def test_aliases_and_case_resolve_to_the_canonical_entry() -> None:
    assert get_gpu("h100").name == "h100-sxm"
    assert get_gpu(" H100 ").name == "h100-sxm"
    assert get_model("deepseek-r1").name == "deepseek-v3"


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown GPU 'x100'; known: .*h100-sxm"):
        get_gpu("x100")
    with pytest.raises(ConfigurationError, match=r"unknown model 'gpt-9'; known: .*llama-3.1-70b"):
        get_model("gpt-9")
    with pytest.raises(ConfigurationError, match="weight precision"):
        get_model("llama-3.1-70b@int3")


@pytest.mark.parametrize(
    ("name", "kv_bytes"),
    [
        ("llama-3.1-8b", 131_072),  # 2 * 32 * 8 * 128 * 2
        ("llama-3.1-70b", 327_680),  # 2 * 80 * 8 * 128 * 2
        ("llama-3.1-405b", 516_096),  # 2 * 126 * 8 * 128 * 2
        ("deepseek-v3", 70_272),  # 61 * (512 + 64) * 2
        ("deepseek-v3@fp8", 35_136),
        ("llama-3.1-70b@fp8", 163_840),
        ("gpt-oss-120b", 36_864),  # 18 full-attention layers * 2 * 8 * 64 * 2
    ],
)
def test_kv_bytes_per_token_match_the_reference(name: str, kv_bytes: int) -> None:
    assert get_model(name).kv_bytes_per_token == kv_bytes


def test_precision_suffix_sets_weights_and_kv() -> None:
    fp4 = get_model("llama-2-70b@fp4")
    assert (fp4.weight_precision, fp4.kv_precision) == ("fp4", "fp8")
    assert fp4.weight_bytes == pytest.approx(68.98e9 * 0.5625)
    mixed = get_model("llama-3.1-70b@fp8/bf16")
    assert (mixed.weight_precision, mixed.kv_precision) == ("fp8", "bf16")


def test_peak_flops_fall_back_to_the_next_wider_precision() -> None:
    h100 = get_gpu("h100")
    assert h100.peak_flops("fp8") == 1979e12
    assert h100.peak_flops("fp4") == 1979e12  # no FP4 on Hopper
    assert get_gpu("a100").peak_flops("fp8") == 312e12
    assert get_gpu("b200").peak_flops("fp4") == 9000e12


def test_moe_expert_split_from_total_and_active() -> None:
    moe = round_catalog().model("moe")
    # (50 - 14) / (10 - 1) = 4 B per expert; always active = 14 - 4 = 10 B
    assert moe.expert_params == pytest.approx(4e9)
    assert moe.always_active_params == pytest.approx(10e9)
    assert moe.params_read(1) == pytest.approx(14e9)
    # 2 tokens touch 10 * (1 - 0.9^2) = 1.9 experts on average
    assert moe.params_read(2) == pytest.approx(10e9 + 1.9 * 4e9)
    assert moe.params_read(10_000) == pytest.approx(50e9)


def test_mixtral_and_deepseek_split() -> None:
    mixtral = get_model("mixtral-8x7b")
    assert mixtral.expert_params == pytest.approx((46.7e9 - 12.9e9) / 6)
    deepseek = get_model("deepseek-v3")
    assert deepseek.expert_params == pytest.approx((671e9 - 37e9) / 248)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("layers", -3, r"models\.dense10\.layers: expected an integer >= 1, got -3"),
        ("layers", "many", r"models\.dense10\.layers: expected an integer >= 1, got 'many'"),
        ("total_params_b", 0, r"models\.dense10\.total_params_b: expected a positive number"),
        ("weight_precision", "int2", r"models\.dense10\.weight_precision: expected one of"),
        ("kv_heads", 20, r"models\.dense10\.kv_heads: 20 exceeds attention_heads 10"),
        ("sliding_window_layers", 10, r"models\.dense10\.sliding_window_layers: must be fewer"),
    ],
)
def test_bad_model_entries_name_the_key_path(field: str, value: object, message: str) -> None:
    models = copy.deepcopy(ROUND_MODELS)
    models["models"]["dense10"][field] = value
    with pytest.raises(ConfigurationError, match=message):
        HardwareCatalog.from_documents(ROUND_GPUS, models)


def test_bad_gpu_entries_name_the_key_path() -> None:
    gpus = copy.deepcopy(ROUND_GPUS)
    gpus["gpus"]["testgpu"]["memory_gb"] = -80
    with pytest.raises(ConfigurationError, match=r"gpus\.testgpu\.memory_gb: expected a positive"):
        HardwareCatalog.from_documents(gpus, ROUND_MODELS)
    del gpus["gpus"]["testgpu"]["source"]
    gpus["gpus"]["testgpu"]["memory_gb"] = 80
    with pytest.raises(ConfigurationError, match=r"gpus\.testgpu\.source: required field"):
        HardwareCatalog.from_documents(gpus, ROUND_MODELS)


def test_moe_must_activate_fewer_than_all_parameters() -> None:
    models = copy.deepcopy(ROUND_MODELS)
    models["models"]["moe"]["active_params_b"] = 50
    with pytest.raises(ConfigurationError, match=r"models\.moe\.active_params_b"):
        HardwareCatalog.from_documents(ROUND_GPUS, models)


def test_duplicate_alias_is_refused() -> None:
    gpus = copy.deepcopy(ROUND_GPUS)
    gpus["gpus"]["other"] = dict(gpus["gpus"]["testgpu"])
    with pytest.raises(ConfigurationError, match="already names"):
        HardwareCatalog.from_documents(gpus, ROUND_MODELS)
