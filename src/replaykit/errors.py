"""The replaykit error hierarchy.

    ReplaykitError
    ├── ConfigError          bad option, bad [tool.replaykit] entry, bad CLI usage
    ├── CassetteError        cassette missing, corrupt or of an unknown version
    │   └── CodecError       an event stream / SSE body that cannot be decoded
    ├── NoMatchError         a request the cassette cannot answer (.operation, .closest_index, .diffs)
    ├── NetworkBlockedError  replay tried to open a real connection (also an OSError)
    ├── ContractViolation    an exchange that breaks its JSON-Schema contract
    ├── SecretFoundError     a secret survived sanitization; the write was refused
    ├── CostLimitError       the record run would exceed --replaykit-cost-limit
    └── SandboxError         the offline sandbox failed to start or stop

Context travels as attributes (``path``, ``exchange_index``, ``field``), never as the secret itself.
"""

from __future__ import annotations

from pathlib import Path


class ReplaykitError(Exception):
    """Base class of every error replaykit raises on purpose."""


class ConfigError(ReplaykitError):
    """An option or configuration value is invalid."""


class CassetteError(ReplaykitError):
    """A cassette cannot be read: missing, corrupt, or of an unknown version."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        exchange_index: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.exchange_index = exchange_index
        self.field = field
        where = []
        if self.path:
            where.append(self.path)
        if exchange_index is not None:
            where.append(f"exchange #{exchange_index}")
        if field:
            where.append(field)
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message)


class CodecError(CassetteError):
    """A wire-format body (AWS event stream, SSE) is malformed."""


class NoMatchError(ReplaykitError):
    """The cassette has no unplayed exchange for a request.

    ``operation`` is the request's, ``closest_index`` the closest recorded exchange (None: the cassette is empty or
    missing), ``diffs`` how that one differs (JSON paths first), ``fix_mode`` the record mode that fixes it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        operation: str | None = None,
        closest_index: int | None = None,
        diffs: list[str] | None = None,
        fix_mode: str = "rewrite",
    ) -> None:
        self.path = path
        self.operation = operation
        self.closest_index = closest_index
        self.diffs = list(diffs or [])
        self.fix_mode = fix_mode
        super().__init__(message)


class NetworkBlockedError(ReplaykitError, OSError):
    """A real network connection was attempted while replaying."""


class ContractViolation(ReplaykitError):
    """An exchange does not satisfy the contract of its operation."""

    def __init__(self, message: str, *, violations: list | None = None) -> None:
        self.violations = violations or []
        super().__init__(message)


class SecretFoundError(ReplaykitError):
    """A secret survived sanitization, so the cassette was not written."""

    def __init__(self, message: str, *, path: str | None = None, findings: list | None = None) -> None:
        self.path = path
        self.findings = findings or []
        super().__init__(message)


class CostLimitError(ReplaykitError):
    """A live record run reached its cost limit."""


class SandboxError(ReplaykitError):
    """The offline sandbox could not be started or stopped."""


class UnknownServiceError(ConfigError):
    """A request to an AWS host (or signed for a service) that no botocore service model describes."""


def read_bytes(path: str | Path, what: str = "cassette") -> bytes:
    """A file's bytes, with OS errors translated once into a CassetteError naming the file."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise CassetteError(f"{what} not found", path=path) from exc
    except OSError as exc:
        raise CassetteError(f"cannot read {what}: {exc.strerror}", path=path) from exc
