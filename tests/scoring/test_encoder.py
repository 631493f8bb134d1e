"""Model loading: no OpenMP thread team outside the scoring thread."""

from __future__ import annotations

import pytest
import torch

import service.scoring.engine as engine_module
from service.config import Settings
from service.scoring.encoder import no_openmp_team
from service.scoring.engine import ScoringEngine


def test_no_openmp_team_runs_its_body_with_one_intra_op_thread_and_restores_the_count() -> None:
    before = torch.get_num_threads()
    with no_openmp_team():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_no_openmp_team_restores_the_count_when_loading_fails() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), no_openmp_team():
        raise RuntimeError("a model that cannot load")
    assert torch.get_num_threads() == before


def test_the_engine_loads_its_models_with_one_intra_op_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # A preloading gunicorn master loads the models; an OpenMP team started there would slow every forked worker.
    seen: list[int] = []
    load = engine_module.load_toxicity_scorer

    def recording_load(*args: object) -> object:
        seen.append(torch.get_num_threads())
        return load(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "load_toxicity_scorer", recording_load)
    before = torch.get_num_threads()
    ScoringEngine.from_settings(Settings.model_validate({}))
    assert seen == [1]
    assert torch.get_num_threads() == before
