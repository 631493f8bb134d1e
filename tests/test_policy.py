"""The moderation policy: thresholds, decisions, queue risk, versions, and where thresholds come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.config import Settings
from service.policy import Decision, Policy, load_policy
from service.scoring.models import CONSPIRACY_ARTIFACT, TOXICITY_ARTIFACT

POLICY_ENV = (
    "MODERATION_POLICY_FILE",
    "MODERATION_UNSUPPORTED_LANGUAGE",
    "MODERATION_REVIEW_THRESHOLDS",
    "MODERATION_REJECT_THRESHOLDS",
    "MODERATION_TOXICITY_MODEL",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings also read the process environment: keep the developer's shell out of these tests."""
    for name in POLICY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def policy() -> Policy:
    return Policy(
        name="test",
        review={"toxicity": 0.5, "insult": 0.5, "conspiracy": 0.75},
        reject={"toxicity": 0.9, "insult": 0.9, "conspiracy": 0.95},
    )


# --- decide ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "decision", "flags"),
    [
        (0.0, Decision.ALLOW, []),
        (0.4999, Decision.ALLOW, []),
        (0.5, Decision.REVIEW, ["toxicity"]),
        (0.5001, Decision.REVIEW, ["toxicity"]),
        (0.8999, Decision.REVIEW, ["toxicity"]),
        (0.9, Decision.REJECT, ["toxicity"]),
        (0.9001, Decision.REJECT, ["toxicity"]),
        (1.0, Decision.REJECT, ["toxicity"]),
    ],
)
def test_decide_at_and_around_thresholds(policy: Policy, score: float, decision: Decision, flags: list[str]) -> None:
    assert policy.decide({"toxicity": score, "conspiracy": 0.1}) == (decision, flags)


@pytest.mark.parametrize(
    ("score", "decision"),
    [(0.7499, Decision.ALLOW), (0.75, Decision.REVIEW), (0.9499, Decision.REVIEW), (0.95, Decision.REJECT)],
)
def test_each_category_uses_its_own_thresholds(policy: Policy, score: float, decision: Decision) -> None:
    got, flags = policy.decide({"toxicity": 0.1, "conspiracy": score})
    assert got is decision
    assert flags == ([] if decision is Decision.ALLOW else ["conspiracy"])


def test_flags_sorted_by_score_descending(policy: Policy) -> None:
    decision, flags = policy.decide({"toxicity": 0.6, "insult": 0.8, "conspiracy": 0.76})
    assert decision is Decision.REVIEW
    assert flags == ["insult", "conspiracy", "toxicity"]


def test_flags_with_equal_scores_are_in_name_order(policy: Policy) -> None:
    _, flags = policy.decide({"toxicity": 0.8, "insult": 0.8, "conspiracy": 0.8})
    assert flags == ["conspiracy", "insult", "toxicity"]


def test_reject_beats_review(policy: Policy) -> None:
    decision, flags = policy.decide({"toxicity": 0.6, "insult": 0.2, "conspiracy": 0.97})
    assert decision is Decision.REJECT
    assert flags == ["conspiracy", "toxicity"]


def test_categories_outside_the_policy_are_ignored(policy: Policy) -> None:
    assert policy.decide({"toxicity": 0.1, "unknown_category": 1.0}) == (Decision.ALLOW, [])
    assert policy.decide({}) == (Decision.ALLOW, [])


# --- risk -----------------------------------------------------------------------------------------------------


def _risk(policy: Policy, scores: dict[str, float]) -> tuple[Decision, float]:
    decision, flags = policy.decide(scores)
    return decision, policy.risk(decision, scores, flags)


def test_any_reject_outranks_any_review(policy: Policy) -> None:
    weakest_reject = _risk(policy, {"toxicity": 0.9, "conspiracy": 0.0})
    strongest_review = _risk(policy, {"toxicity": 0.8999, "insult": 0.8999, "conspiracy": 0.9499})
    assert weakest_reject[0] is Decision.REJECT
    assert strongest_review[0] is Decision.REVIEW
    assert weakest_reject[1] > strongest_review[1]


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ({"toxicity": 0.5}, {"toxicity": 0.6}),
        ({"toxicity": 0.6}, {"toxicity": 0.55, "insult": 0.7}),
        ({"conspiracy": 0.76}, {"conspiracy": 0.9}),
        ({"toxicity": 0.9}, {"toxicity": 0.99}),
        ({"toxicity": 0.95}, {"toxicity": 0.2, "conspiracy": 0.99}),
    ],
)
def test_higher_score_ranks_higher_within_a_decision(
    policy: Policy, lower: dict[str, float], higher: dict[str, float]
) -> None:
    low_decision, low_risk = _risk(policy, lower)
    high_decision, high_risk = _risk(policy, higher)
    assert low_decision is high_decision is not Decision.ALLOW
    assert high_risk > low_risk


@pytest.mark.parametrize(
    "scores",
    [{}, {"toxicity": 0.0}, {"toxicity": 0.3}, {"toxicity": 0.7}, {"toxicity": 1.0, "conspiracy": 1.0}],
)
def test_risk_stays_within_zero_and_two(policy: Policy, scores: dict[str, float]) -> None:
    _, risk = _risk(policy, scores)
    assert 0.0 <= risk <= 2.0


# --- version and validation -----------------------------------------------------------------------------------


def test_version_is_stable_for_equal_thresholds(policy: Policy) -> None:
    same = Policy(
        name="test",
        review={"conspiracy": 0.75, "insult": 0.5, "toxicity": 0.5},  # other insertion order
        reject={"conspiracy": 0.95, "toxicity": 0.9, "insult": 0.9},
    )
    assert same.version == policy.version
    assert policy.version.startswith("test@")


@pytest.mark.parametrize(
    ("review", "reject"),
    [
        ({"toxicity": 0.4}, {}),
        ({}, {"toxicity": 0.8}),
        ({"conspiracy": 0.7}, {}),
        ({"threat": 0.5}, {}),
    ],
)
def test_version_changes_when_thresholds_change(
    policy: Policy, review: dict[str, float], reject: dict[str, float]
) -> None:
    changed = Policy(name=policy.name, review=policy.review | review, reject=policy.reject | reject)
    assert changed.version != policy.version


def test_reject_below_review_raises() -> None:
    with pytest.raises(ValueError, match="toxicity"):
        Policy(name="bad", review={"toxicity": 0.6}, reject={"toxicity": 0.5})


def test_reject_equal_to_review_is_accepted() -> None:
    policy = Policy(name="edge", review={"toxicity": 0.6}, reject={"toxicity": 0.6})
    assert policy.decide({"toxicity": 0.6}) == (Decision.REJECT, ["toxicity"])


# --- load_policy ----------------------------------------------------------------------------------------------


def test_load_policy_defaults_are_stable_and_consistent() -> None:
    first = load_policy(Settings.model_validate({}))
    second = load_policy(Settings.model_validate({}))
    assert first.version == second.version
    assert first.name == "default"
    assert {"toxicity", "conspiracy"} <= set(first.review)
    for category, threshold in first.reject.items():
        assert 0.0 <= first.review.get(category, 0.0) <= threshold <= 1.0


def test_embedded_model_gets_its_own_toxicity_thresholds() -> None:
    embedded = load_policy(Settings.model_validate({"MODERATION_TOXICITY_MODEL": "embedded"}))
    detoxify = load_policy(Settings.model_validate({"MODERATION_TOXICITY_MODEL": "detoxify-original"}))
    assert embedded.review["toxicity"] != detoxify.review["toxicity"]
    assert embedded.review["conspiracy"] == detoxify.review["conspiracy"]
    assert embedded.version != detoxify.version


def test_default_thresholds_are_the_shipped_models_own() -> None:
    """Each model card reports its figures at its own thresholds: the ones shipped."""
    embedded = load_policy(Settings.model_validate({"MODERATION_TOXICITY_MODEL": "embedded"}))
    toxicity = json.loads(TOXICITY_ARTIFACT.read_text())
    for category in toxicity["categories"]:
        assert embedded.review[category] == toxicity["review_thresholds"][category], category
        assert embedded.reject[category] == toxicity["reject_thresholds"][category], category
    assert embedded.review["conspiracy"] == json.loads(CONSPIRACY_ARTIFACT.read_text())["review_threshold"]


def test_load_policy_from_file(tmp_path: Path) -> None:
    defaults = load_policy(Settings.model_validate({}))
    path = tmp_path / "strict.json"
    path.write_text(json.dumps({"name": "strict", "review": {"toxicity": 0.2}, "reject": {"conspiracy": 0.9}}))
    policy = load_policy(Settings.model_validate({"MODERATION_POLICY_FILE": str(path)}))
    assert policy.name == "strict"
    assert policy.version.startswith("strict@")
    assert policy.review["toxicity"] == 0.2
    assert policy.reject["conspiracy"] == 0.9
    # Categories the file does not name keep their defaults.
    assert policy.review["conspiracy"] == defaults.review["conspiracy"]
    assert policy.reject["toxicity"] == defaults.reject["toxicity"]
    assert policy.decide({"toxicity": 0.25, "conspiracy": 0.0}) == (Decision.REVIEW, ["toxicity"])


def test_load_policy_file_without_name_uses_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "house-rules.json"
    path.write_text(json.dumps({"review": {"insult": 0.4}}))
    policy = load_policy(Settings.model_validate({"MODERATION_POLICY_FILE": str(path)}))
    assert policy.name == "house-rules"
    assert policy.review["insult"] == 0.4


def test_load_policy_env_overrides() -> None:
    defaults = load_policy(Settings.model_validate({}))
    settings = Settings.model_validate(
        {"MODERATION_REVIEW_THRESHOLDS": "toxicity=0.4", "MODERATION_REJECT_THRESHOLDS": "conspiracy=0.99"}
    )
    policy = load_policy(settings)
    assert policy.review["toxicity"] == 0.4
    assert policy.reject["conspiracy"] == 0.99
    assert policy.review["conspiracy"] == defaults.review["conspiracy"]
    assert policy.name == "default+env"
    assert policy.version != defaults.version


def test_env_overrides_win_over_the_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_text(json.dumps({"name": "site", "review": {"toxicity": 0.2, "insult": 0.3}}))
    policy = load_policy(
        Settings.model_validate({"MODERATION_POLICY_FILE": str(path), "MODERATION_REVIEW_THRESHOLDS": "toxicity=0.45"})
    )
    assert policy.review["toxicity"] == 0.45
    assert policy.review["insult"] == 0.3
    assert policy.name == "site+env"


def test_env_override_with_the_same_value_keeps_thresholds_but_renames() -> None:
    defaults = load_policy(Settings.model_validate({}))
    same = load_policy(
        Settings.model_validate({"MODERATION_REVIEW_THRESHOLDS": f"toxicity={defaults.review['toxicity']}"})
    )
    assert same.review == defaults.review
    assert same.reject == defaults.reject


def test_env_override_that_puts_reject_below_review_raises() -> None:
    defaults = load_policy(Settings.model_validate({}))
    above_reject = (defaults.reject["toxicity"] + 1.0) / 2
    settings = Settings.model_validate({"MODERATION_REVIEW_THRESHOLDS": f"toxicity={above_reject}"})
    with pytest.raises(ValueError, match="toxicity"):
        load_policy(settings)


def test_out_of_range_env_threshold_is_rejected_by_settings() -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"MODERATION_REVIEW_THRESHOLDS": "toxicity=1.5"})


# --- comments in a language no model supports -------------------------------------------------------------------


def test_a_comment_in_an_unsupported_language_is_reviewed_not_allowed(policy: Policy) -> None:
    assert policy.decide({"toxicity": 0.1}, language_supported=False) == (Decision.REVIEW, [])
    assert policy.decide({"toxicity": 0.95}, language_supported=False) == (Decision.REJECT, ["toxicity"])
    assert policy.decide({"toxicity": 0.1}, language_supported=True) == (Decision.ALLOW, [])


@pytest.mark.parametrize("decision", list(Decision))
def test_the_unsupported_language_decision_is_a_floor(decision: Decision) -> None:
    policy = Policy(name="t", review={"toxicity": 0.5}, reject={"toxicity": 0.9}, unsupported_language=decision)
    assert policy.decide({"toxicity": 0.1}, language_supported=False)[0] is decision
    assert policy.decide({"toxicity": 0.95}, language_supported=False)[0] is Decision.REJECT


def test_the_unsupported_language_decision_is_part_of_the_version() -> None:
    review, reject = {"toxicity": 0.5}, {"toxicity": 0.9}
    allow = Policy(name="t", review=review, reject=reject, unsupported_language=Decision.ALLOW)
    assert allow.version != Policy(name="t", review=review, reject=reject).version


def test_the_unsupported_language_decision_from_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"name": "site", "unsupported_language": "allow"}))
    assert load_policy(Settings(MODERATION_POLICY_FILE=str(path))).unsupported_language is Decision.ALLOW
    overridden = Settings(MODERATION_POLICY_FILE=str(path), MODERATION_UNSUPPORTED_LANGUAGE="reject")
    policy = load_policy(overridden)
    assert policy.unsupported_language is Decision.REJECT
    assert policy.name == "site+env"
    assert load_policy(Settings()).unsupported_language is Decision.REVIEW
