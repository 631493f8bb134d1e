"""docker/constraints.txt against .venv: the image installs exactly the runtime dependencies the tests ran with."""

from __future__ import annotations

import re
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "docker" / "constraints.txt"
PROJECT = "comment-moderation"


def runtime_distributions() -> dict[str, Version]:
    """Every installed distribution that [project] dependencies pull in, transitively, extras and markers applied."""
    found: dict[str, Version] = {}
    seen: set[tuple[str, str]] = set()
    todo = [(PROJECT, "")]  # (distribution, extra): "" stands for its requirements without an extra
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        installed = distribution(name)
        found[name] = Version(installed.version)
        for line in installed.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                todo += [(canonicalize_name(requirement.name), e) for e in ("", *requirement.extras)]
    del found[PROJECT]
    return found


def pins() -> dict[str, Version]:
    pinned: dict[str, Version] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line.strip())
            assert match, f"not an exact pin: {line!r}"
            pinned[canonicalize_name(match.group(1))] = Version(match.group(2))
    return pinned


def test_runtime_dependencies_include_the_transitive_ones() -> None:
    found = runtime_distributions()
    assert {"flask", "torch", "werkzeug", "h11"} <= set(found), "direct and transitive (httpcore2 -> h11) alike"
    assert not {"pytest", "ruff", "mypy", "jsonschema"} & set(found), "dev tools are not runtime dependencies"


def test_constraints_pin_every_runtime_dependency_at_its_installed_version_and_nothing_else() -> None:
    # The pin is the public version: the CPU wheel's +cpu label belongs to the index it comes from.
    expected = {name: Version(version.public) for name, version in runtime_distributions().items()}
    lines = "\n".join(f"{name}=={version}" for name, version in sorted(expected.items()))
    assert pins() == expected, f"docker/constraints.txt should list:\n{lines}"
