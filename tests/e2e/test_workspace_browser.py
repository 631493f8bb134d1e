"""The moderator workspace in a real browser: Debian's chromium, headless, driven by Selenium against the image's
gunicorn and a real Redis. Every check of a decision reads the API back, not only the page.

Each test seeds comments under a site of its own and filters the page to it, so the tests do not see each other's
comments. `SAVE_SCREENSHOTS=1` also writes docs/images/workspace-1280.png and workspace-375.png.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT, SECRETS, Gunicorn

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (apt-get install)"
)

# Selenium Manager must never download a browser or a driver: the suite runs offline.
os.environ["SE_OFFLINE"] = "true"

TOXIC = "You are a stupid idiot and I hate you"
VERY_TOXIC = "shut up you fucking idiot, you worthless moron"
CONSPIRACY = "isis rebranding is for public consumption. they sent cia / mossad puppet al-jolani to iraq"
NEUTRAL = "Thanks for the article, the photos of the harbour are lovely."
HOSTILE = (
    'Look <script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=1"> '
    'and <a href="javascript:window.__pwned=1">x</a> you stupid idiot'
)
WAIT = 20  # seconds: a page action answers in well under this, even on a busy machine
SCREENSHOTS = ROOT / "docs" / "images"


# ---------------------------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(argument)
    options.add_argument("--disable-gpu")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    browser.set_window_size(1280, 800)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def submitter(gunicorn: Gunicorn) -> Iterator[httpx.Client]:
    with gunicorn.client("submitter") as client:
        yield client


@pytest.fixture(scope="module")
def moderator(gunicorn: Gunicorn) -> Iterator[httpx.Client]:
    with gunicorn.client("moderator") as client:
        yield client


@pytest.fixture
def site() -> str:
    return f"ws-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def post(submitter: httpx.Client, site: str) -> Callable[..., dict[str, Any]]:
    """Submit a comment to the test's site: `post(text, **fields)` -> the record; ids are unique per call."""

    def submit(text: str, *, suffix: str = "", **fields: Any) -> dict[str, Any]:
        comment = {"id": f"{site}-{suffix or uuid.uuid4().hex[:6]}", "text": text, "site": site, **fields}
        response = submitter.post("/v1/comments", json=comment)
        assert response.status_code == 201, response.text
        record: dict[str, Any] = response.json()
        return record

    return submit


def wait(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str, timeout: float = WAIT) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition, message=what)


def js(driver: WebDriver, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def press(driver: WebDriver, keys: str) -> None:
    """Keys as a person types them, to whatever has the focus."""
    ActionChains(driver).send_keys(keys).perform()


def queue_ids(driver: WebDriver) -> list[str]:
    ids: list[str] = js(driver, "return [...document.querySelectorAll('#queue > li.item')].map(li => li.dataset.id)")
    return ids


def item(driver: WebDriver, comment_id: str) -> WebElement:
    found: WebElement = js(
        driver, "return document.querySelector(`#queue > li[data-id='${arguments[0]}']`)", comment_id
    )
    assert found is not None, f"{comment_id} is not on the page"
    return found


def current_ids(driver: WebDriver) -> list[str]:
    """The items marked current: by aria-current, and (checked alike) by the class that draws them."""
    marked: list[str] = js(
        driver, "return [...document.querySelectorAll('#queue > li[aria-current=true]')].map(li => li.dataset.id)"
    )
    drawn: list[str] = js(
        driver, "return [...document.querySelectorAll('#queue > li.current')].map(li => li.dataset.id)"
    )
    assert marked == drawn
    return marked


def status_text(driver: WebDriver) -> str:
    text: str = driver.find_element(By.ID, "status").text
    return text


def api_queue(moderator: httpx.Client, site: str, status: str = "pending") -> list[dict[str, Any]]:
    response = moderator.get("/v1/queue", params={"site": site, "status": status, "limit": 200})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def api_record(moderator: httpx.Client, comment_id: str) -> dict[str, Any]:
    response = moderator.get(f"/v1/comments/{comment_id}")
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()
    return record


def forget_key(driver: WebDriver, gunicorn: Gunicorn) -> None:
    """The page opened with no key kept. The key is cleared from a page of the same origin that runs no script, so
    that no sign-in still in flight on the workspace can store it again."""
    driver.get(f"{gunicorn.url}/healthz")
    js(driver, "sessionStorage.clear()")
    driver.get(f"{gunicorn.url}/moderate")


def login_field(driver: WebDriver) -> WebElement | None:
    field = driver.find_element(By.ID, "api-key")
    return field if field.is_displayed() and field.is_enabled() else None


def sign_in(driver: WebDriver, gunicorn: Gunicorn, role: str = "moderator") -> None:
    """A fresh tab state: no key kept, then the key pasted into the login form."""
    forget_key(driver, gunicorn)
    field = wait(driver, login_field, "the login form")
    field.send_keys(SECRETS[role], Keys.ENTER)


def open_workspace(driver: WebDriver, gunicorn: Gunicorn, site: str, expected: list[str]) -> None:
    """Signed in as the moderator, the queue filtered to `site` and showing exactly `expected`, in that order."""
    sign_in(driver, gunicorn)
    wait(driver, lambda d: d.find_element(By.ID, "who-name").text == "mod-ann", "signed in as mod-ann")
    site_field = driver.find_element(By.ID, "filter-site")
    site_field.send_keys(site, Keys.ENTER)
    wait(driver, lambda d: queue_ids(d) == expected, f"the queue of {site} to be {expected}")
    site_field.send_keys(Keys.ESCAPE)  # hands the keys back to the queue
    wait(driver, lambda d: current_ids(d) == expected[:1], "the first item to be current")


def viewport(driver: WebDriver, width: int, height: int, *, mobile: bool) -> None:
    """The page's viewport exactly this size (a headless window's size includes its frame)."""
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def csp_violations(driver: WebDriver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


# ---------------------------------------------------------------------------------------------------------------
# Tests


def test_sign_in_shows_the_name_and_the_queue_riskiest_first(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    seeded = [post(TOXIC), post(VERY_TOXIC), post(CONSPIRACY)]
    published = post(NEUTRAL)
    assert published["status"] == "published"
    assert {record["status"] for record in seeded} == {"pending"}
    riskiest_first = [entry["id"] for entry in api_queue(moderator, site)]
    assert sorted(riskiest_first) == sorted(record["id"] for record in seeded)

    open_workspace(driver, gunicorn, site, riskiest_first)

    assert published["id"] not in queue_ids(driver)
    assert driver.find_element(By.ID, "who").is_displayed()
    assert not driver.find_element(By.ID, "login").is_displayed()
    # The key is kept in this tab only: not in a cookie, not in the address.
    assert js(driver, "return sessionStorage.getItem('moderation.workspace.key')") == SECRETS["moderator"]
    assert driver.get_cookies() == []
    assert SECRETS["moderator"] not in driver.current_url
    assert driver.find_element(By.ID, "api-key").get_attribute("value") == ""
    # Each item shows the policy's decision, its site and author, and its scores with the flagged ones marked.
    first = api_queue(moderator, site)[0]
    shown = item(driver, first["id"])
    assert f"policy: {first['verdict']['decision']}" in shown.text
    assert f"site {site}" in shown.text
    flagged_rows = shown.find_elements(By.CSS_SELECTOR, "table.scores tr.flagged")
    assert len(flagged_rows) >= len(set(first["verdict"]["flags"]) - {"wordlist"}) > 0
    assert len(shown.find_elements(By.CSS_SELECTOR, "table.scores meter")) == len(first["verdict"]["scores"])

    # Logging out forgets the key.
    driver.find_element(By.ID, "logout").click()
    wait(driver, lambda d: d.find_element(By.ID, "login").is_displayed(), "the login form again")
    assert js(driver, "return sessionStorage.getItem('moderation.workspace.key')") is None
    assert queue_ids(driver) == []
    assert csp_violations(driver) == []


def test_an_unknown_key_and_a_submitter_key_are_refused(driver: WebDriver, gunicorn: Gunicorn) -> None:
    forget_key(driver, gunicorn)
    field = wait(driver, login_field, "the login form")
    field.send_keys("not-a-key", Keys.ENTER)
    wait(driver, lambda d: "not known" in status_text(d), "the unknown key refused")
    assert driver.find_element(By.ID, "login").is_displayed()
    assert not driver.find_element(By.ID, "workspace").is_displayed()

    field.clear()
    field.send_keys(SECRETS["submitter"], Keys.ENTER)
    wait(driver, lambda d: "submitter role cannot moderate" in status_text(d), "the submitter refused")
    assert not driver.find_element(By.ID, "workspace").is_displayed()
    assert js(driver, "return sessionStorage.length") == 0


def test_j_and_k_move_the_current_item_and_keys_are_ignored_while_typing(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    for text in (TOXIC, VERY_TOXIC, CONSPIRACY):
        post(text)
    order = [entry["id"] for entry in api_queue(moderator, site)]
    open_workspace(driver, gunicorn, site, order)

    press(driver, "j")
    wait(driver, lambda d: current_ids(d) == [order[1]], "j to move to the second item")
    assert js(driver, "return document.activeElement.dataset.id") == order[1]  # the focus ring follows
    wait(driver, lambda d: d.find_element(By.ID, "detail-id").text == order[1], "the detail panel to follow")
    press(driver, "j")
    wait(driver, lambda d: current_ids(d) == [order[2]], "j to move to the third item")
    press(driver, "j")  # past the end: stays on the last
    press(driver, "k")
    wait(driver, lambda d: current_ids(d) == [order[1]], "k to move back")
    press(driver, "k")
    wait(driver, lambda d: current_ids(d) == [order[0]], "k to move back to the first")

    # Typing a "j" into a filter field is text, not a move.
    thread_field = driver.find_element(By.ID, "filter-thread")
    thread_field.send_keys("j")
    assert thread_field.get_attribute("value") == "j"
    assert current_ids(driver) == [order[0]]
    thread_field.clear()
    thread_field.send_keys(Keys.ESCAPE)

    # A click makes an item current too.
    item(driver, order[2]).find_element(By.CSS_SELECTOR, "p.text").click()
    wait(driver, lambda d: current_ids(d) == [order[2]], "a click to make the third item current")


def test_claim_with_c(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    record = post(TOXIC)
    open_workspace(driver, gunicorn, site, [record["id"]])

    press(driver, "c")
    wait(driver, lambda d: "claimed by you (mod-ann) until" in item(d, record["id"]).text, "the claim shown")
    (queued,) = api_queue(moderator, site)
    assert queued["claimed_by"] == "mod-ann"
    assert queued["claim_expires_at"]
    assert f"Claimed {record['id']}" in status_text(driver)

    # Its Release button gives the claim back.
    item(driver, record["id"]).find_element(By.CSS_SELECTOR, "button[aria-label^=Release]").click()
    wait(driver, lambda d: f"Released {record['id']}" in status_text(d), "the release announced")
    (queued,) = api_queue(moderator, site)
    assert queued["claimed_by"] is None
    assert "unclaimed" in item(driver, record["id"]).text


def test_someone_elses_claim_is_named_in_the_status(
    driver: WebDriver, gunicorn: Gunicorn, post: Callable[..., dict[str, Any]], site: str
) -> None:
    record = post(TOXIC)
    with gunicorn.client("admin") as admin:
        assert admin.post(f"/v1/queue/{record['id']}/claim", json={}).status_code == 200
    open_workspace(driver, gunicorn, site, [record["id"]])
    assert "claimed by root until" in item(driver, record["id"]).text

    press(driver, "c")
    wait(driver, lambda d: "claimed by root" in status_text(d), "the 409 naming the holder")
    assert "error" in (driver.find_element(By.ID, "status").get_attribute("class") or "")


def test_reject_with_r_and_the_reason_picker_then_undo_with_u(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    records = [post(TOXIC), post(CONSPIRACY)]
    order = [entry["id"] for entry in api_queue(moderator, site)]
    open_workspace(driver, gunicorn, site, order)
    target = order[0]

    # Escape cancels: nothing decided.
    press(driver, "r")
    dialog = wait(driver, lambda d: d.find_element(By.ID, "reason-dialog"), "the reason picker")
    wait(driver, lambda d: dialog.is_displayed(), "the reason picker open")
    options = dialog.find_elements(By.CSS_SELECTOR, "input[type=radio][name=reason]")
    assert len(options) == 11
    assert "Hate speech" in dialog.text and "Harassment or bullying" in dialog.text
    press(driver, Keys.ESCAPE)
    wait(driver, lambda d: not dialog.is_displayed(), "Escape to close the picker")
    assert api_record(moderator, target)["status"] == "pending"

    # r, pick "Hate speech", a note, Enter.
    press(driver, "r")
    wait(driver, lambda d: dialog.is_displayed(), "the reason picker open again")
    dialog.find_element(By.CSS_SELECTOR, "label[for=reason-HATE_SPEECH]").click()
    note = dialog.find_element(By.ID, "reason-note")
    note.send_keys("slur against a group", Keys.ENTER)
    wait(driver, lambda d: not dialog.is_displayed(), "Enter to confirm")
    wait(driver, lambda d: f"Rejected {target} (HATE_SPEECH)" in status_text(d), "the rejection announced")
    assert "Press u to undo" in status_text(driver)
    rejected = api_record(moderator, target)
    assert rejected["status"] == "rejected"
    assert rejected["moderation"]["reason"] == "HATE_SPEECH"
    assert rejected["moderation"]["note"] == "slur against a group"
    assert rejected["moderation"]["decided_by"] == "mod-ann"
    # The next pending item is current now.
    wait(driver, lambda d: current_ids(d) == [order[1]], "the next item to become current")

    press(driver, "u")
    wait(driver, lambda d: "pending again" in status_text(d), "the undo announced")
    reopened = api_record(moderator, target)
    assert reopened["status"] == "pending"
    assert reopened["moderation"] is None
    assert sorted(entry["id"] for entry in api_queue(moderator, site)) == sorted(r["id"] for r in records)


def test_approve_with_a_and_the_buttons(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    records = [post(TOXIC), post(VERY_TOXIC)]
    order = [entry["id"] for entry in api_queue(moderator, site)]
    open_workspace(driver, gunicorn, site, order)

    press(driver, "a")
    wait(driver, lambda d: f"Approved {order[0]}" in status_text(d), "the approval announced")
    assert api_record(moderator, order[0])["status"] == "approved"

    # The same with the mouse: the second item's Approve button.
    item(driver, order[1]).find_element(By.CSS_SELECTOR, "button[aria-label^=Approve]").click()
    wait(driver, lambda d: f"Approved {order[1]}" in status_text(d), "the button's approval announced")
    assert api_record(moderator, order[1])["status"] == "approved"
    # A poll takes the decided items off the pending list, without a reload.
    wait(driver, lambda d: queue_ids(d) == [], "the decided items to leave the list", timeout=WAIT)
    assert len(records) == 2


def test_select_two_with_x_and_bulk_approve_with_shift_a_then_undo(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    for text in (TOXIC, VERY_TOXIC, CONSPIRACY):
        post(text)
    order = [entry["id"] for entry in api_queue(moderator, site)]
    open_workspace(driver, gunicorn, site, order)

    press(driver, "x")
    press(driver, "j")
    press(driver, "x")
    wait(driver, lambda d: d.find_element(By.ID, "selection-count").text == "2 selected", "two selected")
    boxes = {
        comment_id: item(driver, comment_id).find_element(By.CSS_SELECTOR, "input.select-box") for comment_id in order
    }
    assert [boxes[comment_id].is_selected() for comment_id in order] == [True, True, False]
    assert "selected" in (item(driver, order[0]).get_attribute("class") or "")

    press(driver, "A")
    wait(driver, lambda d: "Approved 2 of 2" in status_text(d), "the bulk approval announced")
    assert [api_record(moderator, comment_id)["status"] for comment_id in order] == ["approved", "approved", "pending"]
    assert d_text(driver, "selection-count") == "0 selected"

    press(driver, "u")
    wait(driver, lambda d: "pending again" in status_text(d), "the bulk undo announced")
    assert [api_record(moderator, comment_id)["status"] for comment_id in order] == ["pending"] * 3


def d_text(driver: WebDriver, element_id: str) -> str:
    text: str = driver.find_element(By.ID, element_id).text
    return text


def test_bulk_reject_with_shift_r(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    for text in (TOXIC, VERY_TOXIC):
        post(text)
    order = [entry["id"] for entry in api_queue(moderator, site)]
    open_workspace(driver, gunicorn, site, order)
    for comment_id in order:
        item(driver, comment_id).find_element(By.CSS_SELECTOR, "input.select-box").click()
    wait(driver, lambda d: d_text(d, "selection-count") == "2 selected", "two selected by checkbox")
    js(driver, "document.activeElement.blur()")

    press(driver, "R")
    dialog = driver.find_element(By.ID, "reason-dialog")
    wait(driver, lambda d: dialog.is_displayed(), "the reason picker for the selection")
    assert "2 selected comments" in dialog.text
    press(driver, "1")  # the first reason: Offensive
    press(driver, Keys.ENTER)
    wait(driver, lambda d: "Rejected 2 of 2 (OFFENSIVE)" in status_text(d), "the bulk rejection announced")
    for comment_id in order:
        record = api_record(moderator, comment_id)
        assert (record["status"], record["moderation"]["reason"]) == ("rejected", "OFFENSIVE")


def test_evidence_is_highlighted_and_the_author_and_thread_panels_show(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    thread = f"{site}-thread"
    author = {"id": f"{site}-author", "name": "Troll Tim"}
    parent = post("What do people think of the new harbour bridge?", suffix="parent", thread_id=thread)
    earlier = post(VERY_TOXIC, suffix="earlier", thread_id=thread, author=author)
    neighbour = post("I like the bridge, it is a fine design.", suffix="neighbour", thread_id=thread)
    # The author's earlier comment was rejected: the history shows it.
    decided = moderator.post(f"/v1/queue/{earlier['id']}/decision", json={"action": "reject", "reason": "ABUSIVE"})
    assert decided.status_code == 200, decided.text
    target = post(CONSPIRACY + ". " + TOXIC, suffix="target", thread_id=thread, author=author, parent_id=parent["id"])
    assert target["status"] == "pending"
    open_workspace(driver, gunicorn, site, [target["id"]])

    # One <mark> per evidence span, its category on it, its text the span's text.
    evidence = target["verdict"]["evidence"]
    spans = [(category, span["text"]) for category, found in evidence.items() for span in found]
    assert spans, "the seeded comment has no evidence to show"
    marks = js(
        driver,
        "return [...arguments[0].querySelectorAll('p.text mark.ev')]"
        ".map(m => [m.dataset.category, m.textContent, m.className])",
        item(driver, target["id"]),
    )
    assert sorted((category, text) for category, text, _ in marks) == sorted(spans)
    assert all(f"ev-{category}" in class_name.split() for category, _, class_name in marks)
    # Each category its own colour.
    colours = js(
        driver,
        "const seen = {}; for (const m of arguments[0].querySelectorAll('p.text mark.ev'))"
        " seen[m.dataset.category] = getComputedStyle(m).backgroundColor; return seen",
        item(driver, target["id"]),
    )
    assert set(colours) == set(evidence) - {c for c, found in evidence.items() if not found}
    assert len(set(colours.values())) == len(colours) > 1, colours
    assert item(driver, target["id"]).find_element(By.CSS_SELECTOR, "p.text").text == target["text"]

    # Author history: counts, rejection rate, top reason, latest comments.
    author_panel = driver.find_element(By.ID, "author-panel")
    wait(driver, lambda d: "Rejection rate: 100%" in author_panel.text, "the author history")
    assert "Troll Tim" in author_panel.text
    assert "Abusive \u00d71" in author_panel.text
    assert earlier["id"] in author_panel.text and target["id"] in author_panel.text
    # Thread context: the parent and the neighbours.
    thread_panel = driver.find_element(By.ID, "thread-panel")
    wait(driver, lambda d: parent["text"] in thread_panel.text, "the thread context")
    assert neighbour["text"] in thread_panel.text
    assert "neighbours (2)" in thread_panel.text.lower()  # the heading is upper case on screen


def test_question_mark_opens_the_help(
    driver: WebDriver, gunicorn: Gunicorn, post: Callable[..., dict[str, Any]], site: str
) -> None:
    record = post(TOXIC)
    open_workspace(driver, gunicorn, site, [record["id"]])
    help_dialog = driver.find_element(By.ID, "help-dialog")
    assert not help_dialog.is_displayed()
    press(driver, "?")
    wait(driver, lambda d: help_dialog.is_displayed(), "the help overlay")
    for line in ("Next / previous comment", "Approve every selected comment", "Undo your last decision"):
        assert line in help_dialog.text
    # Keys do nothing while a dialog is open; Escape closes it.
    press(driver, "a")
    press(driver, Keys.ESCAPE)
    wait(driver, lambda d: not help_dialog.is_displayed(), "Escape to close the help")
    assert js(driver, "return document.querySelectorAll('dialog[open]').length") == 0


def test_new_comments_appear_without_a_reload_and_the_current_item_stays(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    first = post(CONSPIRACY)
    open_workspace(driver, gunicorn, site, [first["id"]])
    js(driver, "window.__sameDocument = true")
    press(driver, "x")
    later = post(VERY_TOXIC)
    wait(driver, lambda d: later["id"] in queue_ids(d), "the poll to bring the new comment", timeout=WAIT)
    assert queue_ids(driver) == [entry["id"] for entry in api_queue(moderator, site)]
    assert current_ids(driver) == [first["id"]]
    assert d_text(driver, "selection-count") == "1 selected"
    assert js(driver, "return window.__sameDocument") is True


def test_a_hostile_comment_is_shown_as_text(
    driver: WebDriver, gunicorn: Gunicorn, post: Callable[..., dict[str, Any]], site: str
) -> None:
    hostile_name = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
    record = post(HOSTILE, author={"id": f"{site}-h", "name": hostile_name}, thread_id=f"{site}-t")
    assert record["status"] == "pending", "the hostile text must reach the queue to be shown"
    open_workspace(driver, gunicorn, site, [record["id"]])
    shown = item(driver, record["id"])
    wait(driver, lambda d: hostile_name in d.find_element(By.ID, "author-panel").text, "the author panel")

    assert shown.find_element(By.CSS_SELECTOR, "p.text").text == HOSTILE
    assert f"by {hostile_name}" in shown.text
    assert js(driver, "return typeof window.__pwned") == "undefined"
    assert shown.find_elements(By.CSS_SELECTOR, "img, script, iframe, a[href^='javascript']") == []
    # Nowhere on the page: the only script is the page's own, and there are no images or links from data.
    assert js(driver, "return document.querySelectorAll('img').length") == 0
    assert js(driver, "return [...document.scripts].map(s => s.getAttribute('src'))") == [
        "/moderate/static/moderate.js"
    ]
    assert js(driver, "return document.querySelectorAll(\"a[href^='javascript']\").length") == 0
    assert csp_violations(driver) == []


def test_the_page_works_375_pixels_wide(
    driver: WebDriver, gunicorn: Gunicorn, moderator: httpx.Client, post: Callable[..., dict[str, Any]], site: str
) -> None:
    author = {"id": f"{site}-a", "name": "reader"}
    parent = post("Which way does the ferry go on Sundays?", suffix="p", thread_id=f"{site}-t")
    post(TOXIC, thread_id=f"{site}-t", author=author, parent_id=parent["id"])
    post(CONSPIRACY + " " + "averyveryverylongwordwithoutanyspacesatallthatmustwrapsomehow" * 2, author=author)
    order = [entry["id"] for entry in api_queue(moderator, site)]
    open_workspace(driver, gunicorn, site, order)
    wait(driver, lambda d: "Rejection rate" in d.find_element(By.ID, "author-panel").text, "the detail panel")
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        viewport(driver, 1280, 800, mobile=False)
        try:
            driver.get_screenshot_as_file(str(SCREENSHOTS / "workspace-1280.png"))
        finally:
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    viewport(driver, 375, 800, mobile=True)
    try:
        wait(driver, lambda d: js(d, "return window.innerWidth") == 375, "a 375 px viewport")
        assert js(driver, "return document.scrollingElement.scrollWidth") <= 375 + 1
        # The action buttons are on screen, within the width.
        buttons = item(driver, order[0]).find_elements(By.CSS_SELECTOR, ".actions button")
        assert [button.text.split()[0] for button in buttons] == ["Claim", "Approve", "Reject"]
        for button in buttons:
            assert button.is_displayed()
            box = js(driver, "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]", button)
            assert box[0] >= 0 and box[1] <= 375, box
        # The detail panel stacks under the list.
        queue_bottom = js(driver, "return document.getElementById('queue').getBoundingClientRect().bottom")
        detail_top = js(driver, "return document.getElementById('detail').getBoundingClientRect().top")
        assert detail_top >= queue_bottom
        press(driver, "c")
        wait(driver, lambda d: api_queue(moderator, site)[0]["claimed_by"] == "mod-ann", "a claim at 375 px")
        wait(driver, lambda d: f"Claimed {order[0]}" in status_text(d), "the claim announced at 375 px")
        if os.environ.get("SAVE_SCREENSHOTS") == "1":
            driver.get_screenshot_as_file(str(SCREENSHOTS / "workspace-375.png"))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
