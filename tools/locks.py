"""The hash-pinned dependency locks in ``requirements/``: make them, stamp them, check them.

A lock lists ``name==version`` lines with their ``--hash=sha256:`` values and environment markers,
resolved once for every supported Python (3.11+) and platform, and nothing that names a download
host: it must work unchanged behind whatever package index or mirror a machine is set up with.

``make lock`` also proves, with uv dry runs, that each lock installs from wheels alone (hashes
checked) for CPython 3.11, 3.12 and 3.13 on Linux x86_64 and aarch64; other platforms resolve too
(the markers are universal) but are not checked.

Each lock's first line records a stamp of the ``pyproject.toml`` tables it was resolved from
(``requires-python``, the dependencies, every optional extra and the build requirements). The
check compares stamps without touching the network, so ``make test`` stops at once, naming
``make lock``, when someone edits a dependency bound and forgets to re-lock.

Usage (standard library only, so it runs before any virtual environment exists)::

    python3 tools/locks.py lock --uv PATH   # re-resolve both locks (needs the package index)
    python3 tools/locks.py check            # stamps current, no URL, no index option, no path
    python3 tools/locks.py extras           # the optional extras, for make test-latest
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAMP_PREFIX = "# fleetgate-lock-stamp: "
FORBIDDEN_TRACKED = ("uv.lock", "pylock.toml")
# Where the locks must install from wheels alone; `make lock` proves it with uv dry runs.
PLATFORMS = ("x86_64-manylinux_2_28", "aarch64-manylinux_2_28")
PYTHONS = ("3.11", "3.12", "3.13")
# The uv that `make` installs into .tools/ when none is on PATH (requirements/bootstrap.lock).
BOOTSTRAP_UV = "uv==0.13.10"
# A lock line may be a comment, a requirement, a hash continuation or blank; these never.
URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
INDEX_OPTION = re.compile(
    r"^\s*(-i\b|--index-url|--extra-index-url|-f\b|--find-links|--trusted-host|--no-index|-e\b|"
    r"--editable|-r\b|--requirement|-c\b|--constraint)"
)
ABSOLUTE_PATH = re.compile(r"(^|[\s=@])(/|~/|[A-Za-z]:\\)")


@dataclass(frozen=True)
class Lock:
    """One lock file: its name, the extras it holds and what it is for."""

    name: str
    extras: tuple[str, ...]
    purpose: str

    def path(self, root: Path = ROOT) -> Path:
        return root / "requirements" / f"{self.name}.lock"


def project_tables(root: Path = ROOT) -> dict[str, Any]:
    """The parts of ``pyproject.toml`` a lock depends on."""
    data = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    project = data.get("project", {})
    return {
        "requires-python": project.get("requires-python", ""),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "build-requires": data.get("build-system", {}).get("requires", []),
    }


def locks(tables: dict[str, Any]) -> tuple[Lock, ...]:
    """The runtime lock (what ``make demo`` needs) and the dev lock (runtime + every extra)."""
    return (
        Lock("runtime", (), "runtime dependencies and the build backend (make demo)"),
        Lock("dev", extras(tables), "runtime + every optional extra (make test)"),
    )


def extras(tables: dict[str, Any]) -> tuple[str, ...]:
    """Every optional extra of the project, sorted."""
    return tuple(sorted(tables["optional-dependencies"]))


def stamp(tables: dict[str, Any]) -> str:
    """A digest of the dependency tables; any change of a bound, extra or marker changes it."""
    canonical = json.dumps(tables, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def problems_in(lock_text: str, source: str) -> list[str]:
    """Lines of a lock that name a host, an index option or a machine path."""
    found = []
    for number, line in enumerate(lock_text.splitlines(), start=1):
        if URL.search(line):
            found.append(f"{source}:{number}: names a URL: {line.strip()}")
        elif not line.lstrip().startswith("#") and INDEX_OPTION.search(line):
            found.append(f"{source}:{number}: index or file option: {line.strip()}")
        elif ABSOLUTE_PATH.search(line):
            found.append(f"{source}:{number}: names a path: {line.strip()}")
    return found


def tracked_forbidden(root: Path = ROOT) -> list[str]:
    """Tracked files that record download URLs (``uv.lock``, ``pylock.toml``)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    names = [n for n in out.split("\0") if n]
    return [
        f"{n}: a lock that records download URLs is tracked (remove it; use requirements/*.lock)"
        for n in names
        if Path(n).name in FORBIDDEN_TRACKED or re.fullmatch(r"pylock\..+\.toml", Path(n).name)
    ]


def check(root: Path = ROOT) -> list[str]:
    """Every reason the committed locks cannot be trusted, or an empty list."""
    tables = project_tables(root)
    want = stamp(tables)
    found: list[str] = []
    stale: list[str] = []
    for lock in locks(tables):
        path, name = lock.path(root), f"requirements/{lock.name}.lock"
        text = path.read_text("utf-8") if path.exists() else ""
        if text.split("\n", 1)[0] != STAMP_PREFIX + want:
            stale.append(name)
        found.extend(problems_in(text, name))
    if stale:
        # one line, first: the message a developer sees when a bound was edited without re-locking
        found.insert(0, f"{' and '.join(stale)} out of date with pyproject.toml: run 'make lock'")
    bootstrap = root / "requirements" / "bootstrap.lock"
    if bootstrap.exists():
        found.extend(problems_in(bootstrap.read_text("utf-8"), "requirements/bootstrap.lock"))
    found.extend(tracked_forbidden(root))
    return found


def header(lock: Lock, tables: dict[str, Any]) -> str:
    return (
        f"{STAMP_PREFIX}{stamp(tables)}\n"
        f"# requirements/{lock.name}.lock: {lock.purpose}.\n"
        "# Resolved for Python 3.11+ on every platform (universal markers); names, versions and\n"
        "# sha256 hashes only. Do not edit: 'make lock' rewrites it from pyproject.toml.\n"
    )


def compile_lock(uv: str, inputs: list[Path], output: Path, *options: str) -> str:
    """``uv pip compile`` of `inputs` for every platform and Python 3.11+, hashed; its text.

    uv keeps the versions already in its output file unless a bound forces a change, so seeding
    `output` with the committed lock makes re-locking after one edit move one package only.
    """
    command = [uv, "pip", "compile", *map(str, inputs), "--universal", "--python-version", "3.11"]
    command += ["--generate-hashes", "--no-header", "--quiet", "--no-emit-index-url"]
    command += ["--no-emit-find-links", *options, "--output-file", str(output)]
    subprocess.run(command, cwd=ROOT, check=True)
    return output.read_text("utf-8")


def write_locks(uv: str, upgrade: bool) -> None:
    tables = project_tables()
    with tempfile.TemporaryDirectory() as scratch:
        build_in, output = Path(scratch) / "build-requires.in", Path(scratch) / "out.lock"
        build_in.write_text("".join(f"{r}\n" for r in tables["build-requires"]), "utf-8")
        for lock in locks(tables):
            options = [arg for extra in lock.extras for arg in ("--extra", extra)]
            if upgrade:
                options.append("--upgrade")
            elif lock.path().exists():
                output.write_text(lock.path().read_text("utf-8"), "utf-8")
            body = compile_lock(uv, [ROOT / "pyproject.toml", build_in], output, *options)
            # uv names the scratch input in "# via" comments: name what it stands for instead
            body = body.replace(str(build_in), "build-system.requires")
            lock.path().write_text(header(lock, tables) + body, "utf-8")
            output.unlink()
            print(f"wrote requirements/{lock.name}.lock")
        wanted = Path(scratch) / "bootstrap.in"
        wanted.write_text(BOOTSTRAP_UV + "\n", "utf-8")
        body = compile_lock(uv, [wanted], output, "--no-annotate")
    comment = "# requirements/bootstrap.lock: the uv that make installs into .tools/ when\n"
    comment += "# none is on PATH. Do not edit: 'make lock' rewrites it (tools/locks.py).\n"
    (ROOT / "requirements" / "bootstrap.lock").write_text(comment + body, "utf-8")
    print("wrote requirements/bootstrap.lock")


def installable(uv: str) -> list[str]:
    """Locks that would not install from wheels, hashes checked, on a supported platform."""
    found = []
    for lock in locks(project_tables()):
        for python in PYTHONS:
            for platform in PLATFORMS:
                with tempfile.TemporaryDirectory() as target:
                    command = [uv, "pip", "install", "--dry-run", "--quiet", "--require-hashes"]
                    command += ["--only-binary", ":all:", "--python-version", python]
                    command += ["--python-platform", platform, "--target", target]
                    command += ["-r", str(lock.path())]
                    done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    reason = (done.stderr.strip().splitlines() or ["?"])[-1]
                    found.append(f"{lock.name}.lock: Python {python} {platform}: {reason}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("lock", help="re-resolve requirements/*.lock from pyproject.toml")
    make.add_argument("--uv", default="uv", help="the uv executable")
    make.add_argument("--upgrade", action="store_true", help="newest allowed versions")
    sub.add_parser("check", help="fail when a lock is stale or names a host or path")
    sub.add_parser("extras", help="print the optional extras, comma-separated")
    args = parser.parse_args(argv)
    if args.command == "extras":
        print(",".join(extras(project_tables())))
        return 0
    found: list[str] = []
    if args.command == "lock":
        write_locks(args.uv, args.upgrade)
        found = installable(args.uv)
    found += check()
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
