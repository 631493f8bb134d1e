"""The service's own discovery document for the Perspective routes, built from their paths and pydantic schemas.

Google's client libraries build the API from this document and send every call to its `rootUrl` + `servicePath`
+ method path, so `rootUrl`, `baseUrl` and `mtlsRootUrl` name this server (with the path prefix the document was
fetched under), not Google's host.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from service.api.perspective import schemas

API_NAME = "commentanalyzer"
API_VERSION = "v1alpha1"
ANALYZE_PATH = f"{API_VERSION}/comments:analyze"
SUGGEST_PATH = f"{API_VERSION}/comments:suggestscore"
BATCH_PATH = "batch"
# Declared so that a client given no API key asks for credentials, as it would of Google; bearer tokens are API keys.
_SCOPE = "https://www.googleapis.com/auth/userinfo.email"

_METHODS: dict[str, tuple[str, type[BaseModel], type[BaseModel], str]] = {
    "analyze": (
        ANALYZE_PATH,
        schemas.AnalyzeCommentRequest,
        schemas.AnalyzeCommentResponse,
        "Analyzes the provided text and returns scores for requested attributes.",
    ),
    "suggestscore": (
        SUGGEST_PATH,
        schemas.SuggestCommentScoreRequest,
        schemas.SuggestCommentScoreResponse,
        "Suggest comment scores as training data: stored as moderator feedback for `moderation train`.",
    ),
}

_STANDARD_PARAMETERS: dict[str, dict[str, Any]] = {
    "$.xgafv": {"description": "V1 error format.", "enum": ["1", "2"], "type": "string"},
    "access_token": {"description": "OAuth access token: an API key here.", "type": "string"},
    "alt": {"default": "json", "description": "Data format for response.", "enum": ["json"], "type": "string"},
    "callback": {"description": "JSONP", "type": "string"},
    "fields": {"description": "Selector specifying which fields to include in a partial response.", "type": "string"},
    "key": {"description": "API key (a submitter or admin key of this service).", "type": "string"},
    "oauth_token": {"description": "OAuth 2.0 token: an API key here.", "type": "string"},
    "prettyPrint": {"default": "true", "description": "Returns response with indentations.", "type": "boolean"},
    "quotaUser": {"description": "Accepted and ignored.", "type": "string"},
    "uploadType": {"description": "Accepted and ignored.", "type": "string"},
    "upload_protocol": {"description": "Accepted and ignored.", "type": "string"},
}


def _convert(node: dict[str, Any]) -> dict[str, Any]:
    """One JSON Schema node (pydantic's) as a discovery schema node."""
    if "$ref" in node:
        return {"$ref": node["$ref"]}
    variants = [v for v in node.get("anyOf", []) if v.get("type") != "null"]
    out: dict[str, Any]
    if variants:
        # `str | int` enums (name or proto number) are strings on the wire of a generated client.
        kinds = {v.get("type") for v in variants}
        out = _convert(variants[0]) if len(variants) == 1 or "$ref" in variants[0] else {"type": "string"}
        if kinds == {"string", "integer"}:
            out = {"type": "string"}
    elif node.get("type") == "array":
        out = {"type": "array", "items": _convert(node["items"])}
    elif node.get("type") == "object":
        out = {"type": "object"}
        if isinstance(node.get("additionalProperties"), dict):
            out["additionalProperties"] = _convert(node["additionalProperties"])
    elif node.get("type") == "integer":
        out = {"type": "integer", "format": "int32"}
    elif node.get("type") == "number":
        out = {"type": "number", "format": "float"}
    else:
        out = {"type": node.get("type", "any")}
    for key in ("description", "enum"):
        if key in node:
            out[key] = node[key]
    return out


def _schemas() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for _, request, response, _ in _METHODS.values():
        for model in (request, response):
            document = model.model_json_schema(by_alias=True, ref_template="{model}")
            for name, definition in {**document.pop("$defs", {}), model.__name__: document}.items():
                found[name] = {
                    "id": name,
                    "type": "object",
                    "description": definition.get("description", ""),
                    "properties": {k: _convert(v) for k, v in definition.get("properties", {}).items()},
                }
    return dict(sorted(found.items()))


def document(root_url: str) -> dict[str, Any]:
    """The discovery document with this server's `root_url` (ending in `/`)."""
    methods = {
        name: {
            "id": f"{API_NAME}.comments.{name}",
            "path": path,
            "flatPath": path,
            "httpMethod": "POST",
            "description": description,
            "parameters": {},
            "parameterOrder": [],
            "request": {"$ref": request.__name__},
            "response": {"$ref": response.__name__},
            "scopes": [_SCOPE],
        }
        for name, (path, request, response, description) in _METHODS.items()
    }
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"{API_NAME}:{API_VERSION}",
        "name": API_NAME,
        "canonicalName": "Comment Analyzer",
        "version": API_VERSION,
        "revision": "1",
        "title": "Perspective Comment Analyzer API, served by the self-hosted comment moderation service",
        "description": "Perspective API's contract over this service's models: toxicity (the seven Detoxify "
        "categories as Perspective's attributes) and CONSPIRACY.",
        "protocol": "rest",
        "rootUrl": root_url,
        "mtlsRootUrl": root_url,
        "servicePath": "",
        "basePath": "",
        "baseUrl": root_url,
        "batchPath": BATCH_PATH,
        "parameters": {name: {**spec, "location": "query"} for name, spec in _STANDARD_PARAMETERS.items()},
        "auth": {"oauth2": {"scopes": {_SCOPE: {"description": "View your email address"}}}},
        "schemas": _schemas(),
        "resources": {"comments": {"methods": methods}},
    }
