"""The offline sandbox: local Bedrock Runtime, OpenAI and S3 endpoints that real SDK clients cannot tell apart.

    from replaykit.sandbox import running

    with running() as ep:   # ep.aws, ep.bedrock_runtime, ep.openai, ep.s3, ep.profile
        ...

``ep.aws`` serves every AWS service boto3 signs for, routed by the SigV4 credential scope: Bedrock Runtime and
the Bedrock control plane (``ListFoundationModels``/``GetFoundationModel`` from the sandbox's model catalogue),
SageMaker Runtime ``InvokeEndpoint`` (a JSON echo model; ``sandbox-error-<ErrorCode>`` endpoints answer with
that error), and everything moto serves (DynamoDB, STS, SQS, Secrets Manager, SSM, ...). OpenAI (``/v1/...``)
shares the port. S3 is also moto's server on a second port (``ep.s3``). moto's state is reset on every start and
by ``POST /moto-api/reset`` (the pytest plugin resets it before each recorded test).

Answers are deterministic: the same request gets the same text, token counts,
tool inputs and embeddings; only ids, timestamps and latencies vary, as they do with the real services.
With tools offered, a tool is called when the choice forces one (Bedrock ``any``/``tool``, OpenAI ``required`` or a
named function) or, under ``auto``, when the last user message mentions a word of a tool's name ("weather" for
``get_weather``); its input is built from the tool's JSON Schema. After a tool result the model answers in text that
quotes the result. Output limits (``maxTokens``, ``max_tokens``, ``max_output_tokens``) truncate the same answer.

Error triggers:

* Bedrock model id ``sandbox.error.<ExceptionName>`` (e.g. ``sandbox.error.ThrottlingException``) returns that
  modeled error with its HTTP status, ``x-amzn-ErrorType`` header and ``{"message"}`` body.
* Bedrock model id ``sandbox.stream-error.<exceptionType>`` (e.g. ``sandbox.stream-error.modelStreamErrorException``)
  makes ConverseStream / InvokeModelWithResponseStream send a few events, then that exception event.
* Header ``x-replaykit-sandbox-error: <Name>`` does the same for any Bedrock model: an ``UpperCamel`` exception name
  gives the HTTP error, a ``lowerCamel`` stream exception type a mid-stream failure on streaming operations.
* OpenAI model ``sandbox-error-<status>`` (e.g. ``sandbox-error-429``) or header
  ``x-replaykit-sandbox-error: <status>`` returns that HTTP error with OpenAI's body (429 adds ``retry-after``).
* OpenAI model ``sandbox-stream-cut`` or header ``x-replaykit-sandbox-error: stream-cut`` drops a streaming
  response after a few events, without ``data: [DONE]`` and without ending the chunked body.
* Header ``x-replaykit-sandbox-profile: <name>`` answers one request with another profile.
"""

from __future__ import annotations

from replaykit.sandbox.profiles import PROFILES, Profile, ProfileChange
from replaykit.sandbox.server import Endpoints, running

__all__ = ["PROFILES", "Endpoints", "Profile", "ProfileChange", "running"]
