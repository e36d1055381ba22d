"""The hash-pinned locks in requirements/: current, free of hosts and paths, installed as locked."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _load_locks_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fleetgate_locks_tool", ROOT / "tools/locks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


locks = _load_locks_tool()


def _pins(lock: Path) -> dict[str, str]:
    """name -> version for the lines of a lock whose markers hold on this interpreter."""
    pins: dict[str, str] = {}
    for raw in lock.read_text("utf-8").splitlines():
        line = raw.strip().removesuffix("\\").strip()
        if not line or line.startswith(("#", "--hash")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            (spec,) = requirement.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def _copy_project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    return tmp_path


def test_committed_locks_pass_the_check() -> None:
    assert locks.check() == []


def test_every_lock_line_is_a_pinned_hashed_requirement() -> None:
    for name in ("runtime", "dev", "bootstrap"):
        text = (ROOT / "requirements" / f"{name}.lock").read_text("utf-8")
        requirements = [
            line for line in text.splitlines() if line and not line.startswith((" ", "#"))
        ]
        assert requirements, name
        for line in requirements:
            assert "==" in line and line.endswith("\\"), f"{name}.lock: {line}"
        assert "--hash=sha256:" in text


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
    reason="checks the .venv that make test syncs (make test-latest uses another on purpose)",
)
def test_the_installed_environment_is_exactly_the_dev_lock() -> None:
    pinned = _pins(ROOT / "requirements" / "dev.lock")
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"]
    }
    installed.pop("fleetgate", None)
    assert installed == pinned


def test_runtime_lock_pins_the_same_versions_as_the_dev_lock() -> None:
    runtime = _pins(ROOT / "requirements" / "runtime.lock")
    dev = _pins(ROOT / "requirements" / "dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    assert "pytest" not in runtime and "ray" not in runtime and "hatchling" in runtime


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("--index-url https://mirror.example/simple", "URL"),
        ("--extra-index-url http://10.0.0.1/simple", "URL"),
        ("--find-links /opt/wheels", "index or file option"),
        ("-i mirror", "index or file option"),
        ("--no-index", "index or file option"),
        ("-e .", "index or file option"),
        ("numpy @ file:///home/me/numpy.whl", "URL"),
        ("numpy @ /home/me/numpy-2.0.whl", "path"),
        ("    # via -r /tmp/build-requires.in", "path"),
        ("    # via -r build-system.requires", None),
    ],
)
def test_a_lock_naming_a_host_an_index_or_a_path_is_refused(line: str, reason: str | None) -> None:
    problems = locks.problems_in(f"orjson==3.10.0 \\\n    --hash=sha256:00\n{line}\n", "x.lock")
    if reason is None:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        assert problems[0].startswith("x.lock:3: ") and reason in problems[0]


def test_a_tracked_uv_lock_or_pylock_is_refused(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    assert locks.tracked_forbidden(project) == []
    for name in ("uv.lock", "pylock.toml", "pylock.dev.toml"):
        (project / name).write_text("", "utf-8")
    subprocess.run(["git", "-C", str(project), "add", "."], check=True)
    found = locks.tracked_forbidden(project)
    assert sorted(line.split(":")[0] for line in found) == [
        "pylock.dev.toml",
        "pylock.toml",
        "uv.lock",
    ]


def test_editing_a_dependency_bound_makes_the_check_name_make_lock(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    assert locks.check(project) == []
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text("utf-8").replace('"orjson>=3.10"', '"orjson>=3.11"'), "utf-8"
    )
    found = locks.check(project)
    assert found == [
        "requirements/runtime.lock and requirements/dev.lock out of date with pyproject.toml: "
        "run 'make lock'"
    ]


def test_the_check_command_prints_one_line_per_stale_lock_and_fails(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    (project / "tools").mkdir()
    shutil.copy(ROOT / "tools/locks.py", project / "tools/locks.py")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text("utf-8").replace('"pytest>=8.2"', '"pytest>=8.3"'), "utf-8"
    )
    done = subprocess.run(
        [sys.executable, str(project / "tools/locks.py"), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: requirements/runtime.lock and requirements/dev.lock out of date with "
        "pyproject.toml: run 'make lock'"
    ]


def test_the_stamp_follows_extras_markers_and_build_requirements() -> None:
    tables = locks.project_tables()
    assert locks.stamp(dict(tables)) == locks.stamp(tables)
    for key, value in [
        ("dependencies", [*tables["dependencies"], "x ; sys_platform == 'win32'"]),
        ("optional-dependencies", {**tables["optional-dependencies"], "new": ["y"]}),
        ("build-requires", ["hatchling>=1.26"]),
        ("requires-python", ">=3.12"),
    ]:
        assert locks.stamp(dict(tables, **{key: value})) != locks.stamp(tables), key
