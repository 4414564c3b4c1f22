"""An example async LLM gateway tested with replaykit: Bedrock first, OpenAI fallback, circuit breakers,
a tenant-isolated cache, an S3 archive and a per-tenant usage ledger.
"""

from __future__ import annotations

from gateway.app import Gateway, Reply, StreamEvent
from gateway.archive import S3Archive
from gateway.aws import DynamoLedgerStore, available_models, caller_identity
from gateway.breaker import CircuitBreaker, State
from gateway.cache import ResponseCache, request_key
from gateway.errors import AllProvidersFailed, GatewayError, ProviderError, RequestRejected
from gateway.ledger import UsageLedger
from gateway.providers import BedrockProvider, Completion, Delta, OpenAIProvider

__all__ = [
    "AllProvidersFailed",
    "BedrockProvider",
    "CircuitBreaker",
    "Completion",
    "Delta",
    "DynamoLedgerStore",
    "Gateway",
    "GatewayError",
    "OpenAIProvider",
    "ProviderError",
    "Reply",
    "RequestRejected",
    "ResponseCache",
    "S3Archive",
    "State",
    "StreamEvent",
    "UsageLedger",
    "available_models",
    "caller_identity",
    "request_key",
]
