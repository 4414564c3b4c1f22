"""Writing contracts: infer from recorded exchanges and merge into ``contracts/<provider>/<op>.json`` files.

Kept apart from ``update`` (the pure inference and merge) because checking an existing file needs the validator,
and the validator's in-memory learning needs the inference: this module sits above both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from replaykit.contracts.document import contract_path, dump_contract, load_contract, write_contract
from replaykit.contracts.infer import requiring
from replaykit.contracts.update import DEFAULT_MIN_SAMPLES, infer_contract, merge_contract
from replaykit.contracts.validate import CompiledContract
from replaykit.exchange import Exchange


def update_contracts(
    exchanges: Iterable[Exchange],
    contracts_dir: Path,
    *,
    official: bool = True,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> list[Path]:
    """Infer contracts from exchanges and merge them into ``contracts_dir``; returns the files that changed.

    A key becomes required only after ``min_samples`` samples (or when the official shape requires it). A file
    whose schemas did not change is not rewritten, even when the sample count did: an accepted re-record of the
    same traffic leaves the contracts alone.
    """
    by_op: dict[str, list[Exchange]] = defaultdict(list)
    for ex in exchanges:
        if ex.provider != "http":  # arbitrary hosts share http.<METHOD>: one contract would mix unrelated APIs
            by_op[ex.operation].append(ex)
    changed: list[Path] = []
    for operation, exs in sorted(by_op.items()):
        anchor = None
        if official:
            from replaykit.contracts.official import has_official, official_schema

            anchor = official_schema(operation) if has_official(operation) else None
        with requiring(min_samples):
            inferred = infer_contract(operation, exs, official=anchor)
        path = contract_path(Path(contracts_dir), operation)
        if path.exists():
            existing = load_contract(path)
            CompiledContract(existing, str(path), operation)  # a broken schema is reported, not merged into
            seen = int((existing.get("x-replaykit") or {}).get("samples") or 0)
            with requiring(min_samples, grow=seen < min_samples):
                doc = merge_contract(existing, inferred)
            if _without_samples(doc) == _without_samples(existing):
                continue  # same schemas: a new sample count alone is not worth a diff
        else:
            doc = inferred
        if write_contract(path, dump_contract(doc)):
            changed.append(path)
    return changed


def _without_samples(doc: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (doc.get("x-replaykit") or {}).items() if k != "samples"}
    return {**doc, "x-replaykit": meta}
