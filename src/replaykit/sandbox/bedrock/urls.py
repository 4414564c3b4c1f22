"""Bedrock Runtime routes: botocore's request URIs (``/model/{modelId}/...``) mapped to handlers."""

from __future__ import annotations

from replaykit.sandbox._http import Route, route
from replaykit.sandbox.bedrock import responses

# modelId stays percent-encoded in the raw path (":" -> %3A, "/" -> %2F in ARNs); handlers unquote it
_MODEL = r"/model/(?P<model_id>[^/]+)"

ROUTES: list[Route] = [
    route("POST", _MODEL + "/converse", responses.converse),
    route("POST", _MODEL + "/converse-stream", responses.converse_stream),
    route("POST", _MODEL + "/invoke", responses.invoke),
    route("POST", _MODEL + "/invoke-with-response-stream", responses.invoke_stream),
    route("POST", _MODEL + "/count-tokens", responses.count_tokens),
]

FALLBACK = responses.not_found
