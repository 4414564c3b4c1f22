"""Bedrock's control plane as the gateways use it: ``ListFoundationModels`` and ``GetFoundationModel``.

Served from the sandbox's model catalogue (the foundation models its runtime answers for), in restJson1 as
Bedrock sends it, with the sandbox profile applied so drift between profiles shows here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from replaykit.sandbox._http import Reply, Request
from replaykit.sandbox.bedrock import responses
from replaykit.sandbox.bedrock.models import BedrockError


@dataclass(frozen=True)
class CatalogueModel:
    """One foundation model the sandbox serves."""

    model_id: str
    name: str
    provider: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    streaming: bool = True
    customizations: tuple[str, ...] = ()
    inference: tuple[str, ...] = ("ON_DEMAND",)
    status: str = "ACTIVE"


CATALOGUE: tuple[CatalogueModel, ...] = (
    CatalogueModel(
        "anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku", "Anthropic", ("TEXT", "IMAGE"), ("TEXT",)
    ),
    CatalogueModel(
        "anthropic.claude-3-5-sonnet-20240620-v1:0", "Claude 3.5 Sonnet", "Anthropic", ("TEXT", "IMAGE"), ("TEXT",)
    ),
    CatalogueModel(
        "anthropic.claude-3-sonnet-20240229-v1:0",
        "Claude 3 Sonnet",
        "Anthropic",
        ("TEXT", "IMAGE"),
        ("TEXT",),
        status="LEGACY",
    ),
    CatalogueModel("amazon.nova-lite-v1:0", "Nova Lite", "Amazon", ("TEXT", "IMAGE"), ("TEXT",)),
    CatalogueModel("amazon.nova-micro-v1:0", "Nova Micro", "Amazon", ("TEXT",), ("TEXT",)),
    CatalogueModel(
        "amazon.titan-text-express-v1",
        "Titan Text G1 - Express",
        "Amazon",
        ("TEXT",),
        ("TEXT",),
        True,
        ("FINE_TUNING",),
    ),
    CatalogueModel(
        "amazon.titan-embed-text-v2:0", "Titan Text Embeddings V2", "Amazon", ("TEXT",), ("EMBEDDING",), False
    ),
    CatalogueModel("meta.llama3-8b-instruct-v1:0", "Llama 3 8B Instruct", "Meta", ("TEXT",), ("TEXT",)),
    CatalogueModel("mistral.mistral-7b-instruct-v0:2", "Mistral 7B Instruct", "Mistral AI", ("TEXT",), ("TEXT",)),
    CatalogueModel("cohere.embed-english-v3", "Embed English", "Cohere", ("TEXT",), ("EMBEDDING",), False),
)

LIST = "bedrock.ListFoundationModels"
GET = "bedrock.GetFoundationModel"


def summary(model: CatalogueModel, region: str) -> dict[str, Any]:
    """A ``FoundationModelSummary`` (members in Bedrock's sorted order)."""
    return {
        "customizationsSupported": list(model.customizations),
        "inferenceTypesSupported": list(model.inference),
        "inputModalities": list(model.inputs),
        "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model.model_id}",
        "modelId": model.model_id,
        "modelLifecycle": {"status": model.status},
        "modelName": model.name,
        "outputModalities": list(model.outputs),
        "providerName": model.provider,
        "responseStreamingSupported": model.streaming,
    }


def _first(req: Request, name: str) -> str | None:
    values = req.query.get(name)
    return values[0] if values else None


def list_foundation_models(req: Request, region: str) -> Reply:
    """``GET /foundation-models``, filtered by provider, modality, inference and customization type."""
    provider = (_first(req, "byProvider") or "").lower()
    output = _first(req, "byOutputModality")
    inference = _first(req, "byInferenceType")
    custom = _first(req, "byCustomizationType")
    models = [
        summary(m, region)
        for m in CATALOGUE
        if (not provider or m.provider.lower().startswith(provider) or m.model_id.startswith(provider + "."))
        and (not output or output in m.outputs)
        and (not inference or inference in m.inference)
        and (not custom or custom in m.customizations)
    ]
    body = req.profile.apply_response(LIST, {"modelSummaries": models})
    return responses._json_reply(body)


def get_foundation_model(req: Request, region: str) -> Reply:
    """``GET /foundation-models/{modelIdentifier}`` (a model id or its ARN)."""
    ident = unquote(req.params.get("model_id", ""))
    model_id = ident.rsplit("foundation-model/", 1)[-1]
    for m in CATALOGUE:
        if m.model_id == model_id:
            body = req.profile.apply_response(GET, {"modelDetails": summary(m, region)})
            return responses._json_reply(body)
    return responses.error_reply(BedrockError("ResourceNotFoundException", f"Model not found: {ident}"))
