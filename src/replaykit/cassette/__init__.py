"""Cassettes: the decoded exchange model, the on-disk format, the vcrpy persister and the match index."""

from __future__ import annotations

from replaykit.cassette.format import iter_cassettes, load_exchanges, read_document
from replaykit.exchange import Body, Exchange, Request, Response

__all__ = ["Body", "Exchange", "Request", "Response", "iter_cassettes", "load_exchanges", "read_document"]
