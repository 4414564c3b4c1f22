"""OpenAI routes under ``/v1``."""

from __future__ import annotations

from replaykit.sandbox._http import Route, route
from replaykit.sandbox.openai import responses

ROUTES: list[Route] = [
    route("POST", r"/v1/chat/completions", responses.chat_completions),
    route("POST", r"/v1/embeddings", responses.embeddings),
    route("GET", r"/v1/models", responses.list_models),
    route("GET", r"/v1/models/(?P<model>[^/]+(?:/[^/]+)?)", responses.retrieve_model),
    route("POST", r"/v1/responses", responses.responses),
]

FALLBACK = responses.not_found
