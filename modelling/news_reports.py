"""Hand-written news-report sentences that state documented links, findings and hidden dealings with their source:
negatives for `moderation train conspiracy --source news-reports`.

A conspiracy claim and a news report can share their words: a leader once tied to an armed group, money passed in
secret, a report kept from the public. What separates them is the attribution (a court, an inquiry, released
documents) and the flat register of reporting. Neither labelled source has news reporting: PsyCoMark is Reddit
statements and PAN is Telegram posts, so a model trained on them reads a reported link as a claim of a hidden
hand (conspiracy run F scored a paragraph of the seed article, which reports a leader's past in an armed group,
0.888). Each frame is filled from lists of roles, groups, places and attributions by rotation, so that no one filler
is the signal. Training rows only: a sentence that shares a run of words with a hand-written suite sentence or with
the seed comments and article (tests/data/) is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator

_LEADERS = (
    "the interim president", "the new prime minister", "the opposition leader", "the former defence minister",
    "the rebel commander", "the deputy leader", "the regional governor", "the security council's chief",
)  # fmt: skip
_GROUPS = (
    "the militia that once held the north", "a banned separatist movement", "the drug cartel", "an insurgent network",
    "the old regime's youth wing", "a paramilitary unit", "an armed faction in the hills", "the smuggling ring",
)  # fmt: skip
_PLACES = ("Nairobi", "Lima", "Manila", "Warsaw", "Dakar", "Tbilisi", "Quito", "Jakarta")
_ATTRIBUTIONS = (
    "court records show", "according to a UN panel's report", "a parliamentary inquiry found",
    "declassified cables show", "officials confirmed on Tuesday", "election observers said",
    "an investigation by this newspaper found", "diplomats told reporters",
)  # fmt: skip
# The same attributions opening a sentence.
_LEADING = (
    "According to court records,", "According to a UN panel's report,", "A parliamentary inquiry found that",
    "Declassified cables show that", "Officials confirmed on Tuesday that", "Election observers said that",
    "An investigation by this newspaper found that", "Diplomats told reporters that",
)  # fmt: skip

# {leader} {group} {place}: a role, a group, a city; {source} and {lead}: an attribution after the report or before it.
# Each frame reports something that happened out of public view, and says who established it.
_FRAMES = (
    "{Leader} once served as a senior figure in {group}, {source}.",
    "Before entering politics, {leader} fought alongside {group}, {source}.",
    "{lead} {group} received weapons and money from a neighbouring government for several years.",
    "{Leader} has acknowledged past ties to {group} but says he cut them a decade ago.",
    "{lead} three officials in {place} took payments from {group} in exchange for early warning of raids.",
    "The minister kept the audit from parliament for two years, {source}.",
    "{lead} the company knew about the defect in 2019 and did not tell regulators.",
    "A court in {place} convicted two police commanders of passing information to {group}.",
    "Leaked emails show that advisers to {leader} met envoys of {group} in {place} last spring.",
    "{lead} the intelligence service paid informants inside {group} throughout the ceasefire.",
    "The talks between the government and {group} were held in secret in {place}, {source}.",
    "The inquiry named {leader} as the official who approved the covert payments.",
    "{lead} the election commission in {place} was warned about the forged ballots weeks before the vote.",
    "The ministry admitted on Monday that it had withheld the safety report at the request of the contractor.",
    "Prosecutors in {place} say the bank moved money for {group} through shell companies.",
    "{Leader}'s brother was a commander in {group}, {source}.",
    "{lead} the army shared intelligence with {group} during the offensive, then denied it.",
    "Investigators in {place} traced the arms shipment to a broker who had supplied {group} before.",
    "The cabinet approved the deal behind closed doors, and the text was published only after a court order.",
    "{lead} {leader} visited the camps of {group} twice while the peace talks were under way.",
    "Journalists in {place} obtained the contract, which the government had refused to release.",
    "Foreign diplomats in {place} had been told of the planned purge, {source}.",
    "{Leader} was a close aide to the founder of {group} when the war began, {source}.",
    "Records released under the freedom of information law show the council hid the pollution figures.",
    "{lead} senior officers in {place} sold seized weapons back to {group}.",
    "An internal review found that the agency had misled the public about the cost of the programme.",
)


def _fill(frame: str, turn: int) -> str:
    pick = {
        "leader": _LEADERS[turn % len(_LEADERS)],
        "group": _GROUPS[(turn * 3 + 1) % len(_GROUPS)],
        "place": _PLACES[(turn * 5 + 2) % len(_PLACES)],
        "source": _ATTRIBUTIONS[(turn * 7 + 3) % len(_ATTRIBUTIONS)],
        "lead": _LEADING[(turn * 7 + 3) % len(_LEADING)],
    }
    capitalised = {name.capitalize(): value[0].upper() + value[1:] for name, value in pick.items()}
    text = frame.format(**pick, **capitalised)
    return text[0].upper() + text[1:]


FILLS_PER_FRAME = 8


def _written() -> Iterator[str]:
    for index, frame in enumerate(_FRAMES):
        for turn in range(FILLS_PER_FRAME):
            yield _fill(frame, index + turn)


def news_report_sentences() -> list[str]:
    """Every distinct written sentence, less those that share a run of words with a suite sentence or a seed text."""
    from modelling.functional_suite import seed_texts
    from modelling.toxicity_training import project_test_runs, word_runs

    near = project_test_runs() | {run for text in seed_texts() for run in word_runs(text)}
    return [text for text in dict.fromkeys(_written()) if not word_runs(text) & near]
