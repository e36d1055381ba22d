"""The one config-file reader and validator: files named, key paths named, mappings required."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetgate.config_types import Frozen, PositiveInt
from fleetgate.configfile import read_yaml, validate
from fleetgate.errors import ConfigurationError


class _Inner(Frozen):
    count: PositiveInt


class _Outer(Frozen):
    inner: _Inner
    items: tuple[_Inner, ...] = ()


def test_read_yaml_refuses_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_yaml(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        read_yaml(broken)
    good = tmp_path / "good.yaml"
    good.write_text("a: [1, 2]\n", encoding="utf-8")
    assert read_yaml(good) == {"a": [1, 2]}
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("a: 1\nname: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigurationError, match=r"latin1.yaml:2: not UTF-8 text"):
        read_yaml(latin1)
    crlf = tmp_path / "crlf.yaml"
    crlf.write_bytes(b"a: 1\r\nb: caf\xc3\xa9\r\n")
    assert read_yaml(crlf) == {"a": 1, "b": "caf\u00e9"}


def test_validate_names_the_file_and_every_key_path() -> None:
    with pytest.raises(ConfigurationError) as caught:
        validate(_Outer, {"inner": {"count": -5}, "items": [{"count": 0}]}, source="a.yaml")
    message = str(caught.value)
    assert message.startswith("a.yaml: invalid input")
    assert "inner.count: expected a positive integer, got -5" in message
    assert "items[0].count: expected a positive integer, got 0" in message


def test_validate_puts_the_prefix_before_key_paths_and_names_the_kind_of_file() -> None:
    with pytest.raises(ConfigurationError) as caught:
        validate(
            _Inner, {"count": "lots"}, source="f.yaml", prefix="sites[1].orbit", what="scenario"
        )
    assert str(caught.value).startswith("f.yaml: invalid scenario")
    assert "sites[1].orbit.count: expected a positive integer" in str(caught.value)


def test_validate_wants_a_mapping_and_reads_an_empty_document_as_one() -> None:
    with pytest.raises(ConfigurationError, match=r"f.yaml: \(top level\): expected a mapping"):
        validate(_Inner, [1, 2], source="f.yaml")
    with pytest.raises(ConfigurationError, match=r"f.yaml: orbit: expected a mapping"):
        validate(_Inner, "x", source="f.yaml", prefix="orbit")
    with pytest.raises(ConfigurationError, match="count: "):
        validate(_Inner, None, source="f.yaml")
