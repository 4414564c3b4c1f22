"""Gateway errors: one provider's failure, and the error callers see when no provider could answer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ProviderError(Exception):
    """A provider call failed; ``failover`` says whether another provider may succeed where this one did not."""

    provider: str
    kind: str  # "ThrottlingException", "RateLimitError", "stream_cut", "circuit_open", ...
    detail: str = ""
    failover: bool = True

    def __str__(self) -> str:
        return f"{self.provider}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


class GatewayError(Exception):
    """Base class of the errors the gateway raises to its callers."""


class RequestRejected(GatewayError):
    """A provider rejected the request itself (validation, auth): retrying elsewhere would not help."""

    def __init__(self, error: ProviderError) -> None:
        self.error = error
        super().__init__(f"request rejected by {error}")


class AllProvidersFailed(GatewayError):
    """No provider produced an answer; ``errors`` holds each provider's reason, in the order tried."""

    def __init__(self, tenant: str, errors: list[ProviderError]) -> None:
        self.tenant = tenant
        self.errors = errors
        reasons = "; ".join(str(e) for e in errors) or "no provider configured"
        super().__init__(f"all providers failed for tenant {tenant!r}: {reasons}")
