"""The moderator workspace page: static files under a strict Content-Security-Policy, no data and no key of their
own, nothing inline and nothing fetched from elsewhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib.resources import files

import pytest
from flask.testing import FlaskClient

from service.api.workspace import CONTENT_SECURITY_POLICY

EXPECTED_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_FILES = ("moderate.html", "moderate.css", "moderate.js")
ROUTES = {
    "/moderate": "text/html",
    "/moderate/static/moderate.css": "text/css",
    "/moderate/static/moderate.js": "text/javascript",
}


def source(name: str) -> str:
    return files("service.workspace").joinpath(name).read_text(encoding="utf-8")


class _Page(HTMLParser):
    """What the page's markup holds: its tags with their attributes, and the text inside each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if tag == "script":
            self.script_text.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text[-1] += data


@pytest.fixture(scope="module")
def page() -> _Page:
    parsed = _Page()
    parsed.feed(source("moderate.html"))
    return parsed


def assert_secured(headers: dict[str, str]) -> None:
    assert headers["Content-Security-Policy"] == EXPECTED_CSP
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_the_policy_is_the_one_the_page_is_written_for() -> None:
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP


@pytest.mark.parametrize(("path", "mimetype"), ROUTES.items())
def test_the_page_and_its_files_are_served_without_a_key(client: FlaskClient, path: str, mimetype: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.mimetype_params.get("charset") == "utf-8"
    assert_secured(dict(response.headers))
    assert "Set-Cookie" not in response.headers
    name = path.rsplit("/", 1)[1]
    expected = source("moderate.html" if name == "moderate" else name)
    assert response.get_data(as_text=True) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/moderate/static/nothing.js",
        "/moderate/static/__init__.py",
        "/moderate/static/moderate.html",  # the page has its own route; static/ serves only the css and js
        "/moderate/static/..%2Fworkspace.py",
        "/moderate/static/%2E%2E%2Fapp.py",
    ],
)
def test_only_the_known_files_are_served(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert_secured(dict(response.headers))


def test_the_page_is_not_part_of_the_api_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert not [path for path in paths if path.startswith("/moderate")]


def test_every_script_and_style_sheet_is_a_file_of_its_own(page: _Page) -> None:
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"type": "module", "src": "/moderate/static/moderate.js"}]
    assert page.script_text == [""]  # nothing inline
    sheets = [attrs["href"] for tag, attrs in page.tags if tag == "link" and attrs.get("rel") == "stylesheet"]
    assert sheets == ["/moderate/static/moderate.css"]
    assert "style" not in [tag for tag, _ in page.tags]


def test_no_inline_style_or_event_handler_attributes(page: _Page) -> None:
    for tag, attrs in page.tags:
        assert "style" not in attrs, tag
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"<{tag}> has {handlers}"
        for name in ("href", "src", "action", "formaction"):
            assert not (attrs.get(name) or "").lower().startswith("javascript:"), tag


def test_every_control_has_a_label(page: _Page) -> None:
    labelled = {attrs.get("for") for tag, attrs in page.tags if tag == "label"}
    for tag, attrs in page.tags:
        if tag in ("input", "select", "textarea"):
            assert attrs.get("id") in labelled or attrs.get("aria-label"), f"<{tag} id={attrs.get('id')}> unlabelled"
    status = [attrs for _, attrs in page.tags if attrs.get("id") == "status"]
    assert status and status[0].get("aria-live") == "polite"
    assert "main" in [tag for tag, _ in page.tags]


@pytest.mark.parametrize("name", PAGE_FILES)
def test_nothing_is_fetched_from_another_origin(name: str) -> None:
    text = source(name)
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE), name
    assert "@import" not in text


def test_the_script_never_parses_data_as_markup() -> None:
    script = source("moderate.js")
    markup_sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")
    for forbidden in (*markup_sinks, ".style."):
        assert forbidden not in script, forbidden
    # The key travels in the Authorization header and lives in sessionStorage: never in a URL, never in a cookie.
    assert "sessionStorage" in script
    assert "localStorage" not in script
    assert "document.cookie" not in script
    assert 'credentials: "omit"' in script
