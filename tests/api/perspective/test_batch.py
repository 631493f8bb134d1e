"""POST /batch in the wire format google-api-python-client writes (LF line ends inside each part)."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import SECRETS

BOUNDARY = "===============7330845974216740156=="


def part(content_id: str, path: str, body: dict[str, Any] | str) -> str:
    payload = body if isinstance(body, str) else json.dumps(body)
    return (
        f"--{BOUNDARY}\nContent-Type: application/http\nMIME-Version: 1.0\nContent-Transfer-Encoding: binary\n"
        f"Content-ID: <{content_id}>\n\n"
        f"POST {path} HTTP/1.1\nContent-Type: application/json\nMIME-Version: 1.0\nHost: localhost\n"
        f"content-length: {len(payload.encode())}\n\n{payload}\n"
    )


def send(client: FlaskClient, *parts: str) -> list[tuple[str, int, dict[str, Any]]]:
    """(Content-ID, inner status, inner JSON) of each part of the answer."""
    body = "".join(parts) + f"--{BOUNDARY}--\n"
    response = client.post("/batch", data=body, content_type=f'multipart/mixed; boundary="{BOUNDARY}"')
    assert response.status_code == 200, response.get_data(as_text=True)
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("multipart/mixed; boundary=")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + response.get_data()
    )
    answers = []
    for inner in message.iter_parts():  # type: ignore[attr-defined]
        assert inner["Content-Type"] == "application/http"
        raw = inner.get_payload(decode=True).decode()
        status_line, rest = raw.split("\r\n", 1)
        answers.append((inner["Content-ID"], int(status_line.split(" ")[1]), json.loads(rest.split("\r\n\r\n", 1)[1])))
    return answers


def analyze_body(text: str) -> dict[str, Any]:
    return {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}


def test_two_analyze_requests_get_two_answers_in_order(client: FlaskClient) -> None:
    key = SECRETS["submitter"]
    answers = send(
        client,
        part("uuid-1 + 1", f"/v1alpha1/comments:analyze?key={key}&alt=json", analyze_body("you fucking idiot")),
        part("uuid-1 + 2", f"/v1alpha1/comments:analyze?key={key}&alt=json", analyze_body("Lovely photos.")),
    )
    assert [(cid, status) for cid, status, _ in answers] == [
        ("<response-uuid-1 + 1>", 200),
        ("<response-uuid-1 + 2>", 200),
    ]
    first, second = (a[2]["attributeScores"]["TOXICITY"]["summaryScore"]["value"] for a in answers)
    assert first > second


def test_each_inner_request_is_authenticated_on_its_own(client: FlaskClient) -> None:
    answers = send(
        client,
        part("a", f"/v1alpha1/comments:analyze?key={SECRETS['submitter']}", analyze_body("Fine.")),
        part("b", "/v1alpha1/comments:analyze?key=wrong", analyze_body("Fine.")),
        part("c", "/v1alpha1/comments:analyze", analyze_body("Fine.")),
    )
    assert [status for _, status, _ in answers] == [200, 400, 403]
    assert answers[1][2]["error"]["message"] == "API key not valid. Please pass a valid API key."


def test_inner_errors_and_suggestscore_come_back_in_their_parts(client: FlaskClient) -> None:
    key = SECRETS["submitter"]
    suggest = {
        "comment": {"text": "Fine."},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0}}},
        "clientToken": "in-batch",
    }
    answers = send(
        client,
        part(
            "1",
            f"/v1alpha1/comments:analyze?key={key}",
            {"comment": {"text": "x"}, "requestedAttributes": {"NOPE": {}}},
        ),
        part("2", f"/v1alpha1/comments:suggestscore?key={key}", suggest),
    )
    assert answers[0][1] == 400 and answers[0][2]["error"]["message"] == "Unknown requested attribute: NOPE"
    assert answers[1][1:] == (200, {"clientToken": "in-batch"} | answers[1][2])
    assert answers[1][2]["clientToken"] == "in-batch"


def test_a_batch_may_not_reach_other_routes(client: FlaskClient) -> None:
    key = SECRETS["admin"]
    answers = send(client, part("1", f"/batch?key={key}", "{}"), part("2", "/v1/score", "{}"))
    assert [status for _, status, _ in answers] == [404, 404]


def test_a_body_that_is_not_multipart_is_400(client: FlaskClient) -> None:
    response = client.post("/batch", data="{}", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == "INVALID_ARGUMENT"


def test_a_deeply_nested_body_is_refused_part_by_part_without_recursion(client: FlaskClient) -> None:
    nested = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(1000))
    body = f"--{BOUNDARY}\nContent-Type: application/http\nContent-ID: <n>\n\n{nested}\n--{BOUNDARY}--\n"
    response = client.post("/batch", data=body, content_type=f'multipart/mixed; boundary="{BOUNDARY}"')
    assert response.status_code == 200
    (inner,) = re.findall(rb"HTTP/1.1 (\d{3})", response.get_data())
    assert inner == b"404"  # its first line is no request to a Perspective route


def test_more_than_100_parts_are_refused(client: FlaskClient) -> None:
    parts = [part(str(i), "/v1alpha1/comments:analyze", "{}") for i in range(101)]
    body = "".join(parts) + f"--{BOUNDARY}--\n"
    response = client.post("/batch", data=body, content_type=f'multipart/mixed; boundary="{BOUNDARY}"')
    assert response.status_code == 400
    assert "at most 100 parts" in response.get_json()["error"]["message"]


def test_the_outer_request_keeps_its_own_request_id(client: FlaskClient) -> None:
    body = (
        part("1", f"/v1alpha1/comments:analyze?key={SECRETS['submitter']}", analyze_body("Fine.")) + f"--{BOUNDARY}--\n"
    )
    response = client.post(
        "/batch",
        data=body,
        content_type=f'multipart/mixed; boundary="{BOUNDARY}"',
        headers={"X-Request-ID": "outer-id-123"},
    )
    assert response.headers["X-Request-ID"] == "outer-id-123"


def test_non_ascii_text_in_a_part_is_read(client: FlaskClient) -> None:
    key = SECRETS["submitter"]
    ((_, status, document),) = send(
        client,
        part("1", f"/v1alpha1/comments:analyze?key={key}", analyze_body("A naïve café owner\u2019s great story 👍")),
    )
    assert status == 200 and "TOXICITY" in document["attributeScores"]
