"""The house's two rules, read off the import graph: the serving package never imports the model-building one, and
no module imports itself back through others. Every import counts, those inside functions and under TYPE_CHECKING
included, since a lazy import that closes a circle is still a circle."""

from __future__ import annotations

import graphlib
import json
import os
import subprocess
import sys

import grimp
import pytest

from tests.conftest import ROOT

SERVING = "service"
MODEL_BUILDING = "modelling"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(SERVING, MODEL_BUILDING, cache_dir=None)


def test_the_serving_package_never_imports_model_building(graph: grimp.ImportGraph) -> None:
    chain = graph.find_shortest_chain(importer=SERVING, imported=MODEL_BUILDING, as_packages=True)
    assert chain is None, f"serving imports model building: {' -> '.join(chain or ())}"


def test_model_building_measures_the_serving_pipeline(graph: grimp.ImportGraph) -> None:
    """The dependency goes one way, and it is there: training and the suites run the scoring code that serves."""
    assert graph.find_shortest_chain(importer=MODEL_BUILDING, imported="service.scoring.engine", as_packages=True)


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    try:
        graphlib.TopologicalSorter(imports).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(reversed(exc.args[1]))}")


def test_a_circle_would_be_found(graph: grimp.ImportGraph) -> None:
    """The check above can fail: the same sorter on this graph with one import turned round finds the circle."""
    imports = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    imports["service.scoring.encoder"].add("service.scoring.models")
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(imports).prepare()


def test_the_wsgi_app_loads_no_model_building_module(env: dict[str, str]) -> None:
    """What gunicorn imports, in a fresh interpreter: the app is built, and nothing of the model-building package is
    loaded on the way."""
    probe = (
        "import json, sys\n"
        "import service.wsgi\n"
        "print(json.dumps({'app': type(service.wsgi.app).__name__,"
        f" 'loaded': sorted(m for m in sys.modules if m.split('.')[0] == {MODEL_BUILDING!r})}}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, **env, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"app": "OpenAPI", "loaded": []}
