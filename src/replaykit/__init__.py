"""replaykit: record-and-replay contract testing for AWS Bedrock Runtime, OpenAI and S3, built on vcrpy."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
