"""SageMaker Runtime ``InvokeEndpoint`` for a self-hosted model: a JSON echo model and SageMaker's error shapes.

Any endpoint name is "deployed" and answers with what it was sent (JSON bodies parsed, others as text), plus
the endpoint name and the variant. ``sandbox-error-<ErrorCode>`` endpoints (``sandbox-error-ModelError``,
``sandbox-error-ValidationError``, ``sandbox-error-ServiceUnavailable``, ``sandbox-error-ModelNotReadyException``
…) answer with that modeled error: its HTTP status, ``x-amzn-ErrorType`` and SageMaker's JSON body.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from typing import Any
from urllib.parse import unquote

from replaykit.sandbox._http import Reply, Request, http_date, json_bytes

ROUTE = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations(?:-response-stream)?$")
VARIANT = "AllTraffic"


@functools.lru_cache(maxsize=1)
def error_statuses() -> dict[str, int]:
    """Modeled InvokeEndpoint exception name -> HTTP status, from botocore's model."""
    import botocore.session

    op = botocore.session.get_session().get_service_model("sagemaker-runtime").operation_model("InvokeEndpoint")
    return {e.name: int(e.metadata["error"]["httpStatusCode"]) for e in op.error_shapes}


def _error(code: str, message: str, region: str, endpoint: str) -> Reply:
    body: dict[str, Any] = {"ErrorCode": code, "Message": message}
    if code == "ModelError":
        body.update(
            OriginalStatusCode=500,
            OriginalMessage="model container raised an exception (sandbox trigger)",
            LogStreamArn=f"arn:aws:logs:{region}:123456789012:log-group:/aws/sagemaker/Endpoints/{endpoint}",
        )
    headers = [
        ("Date", http_date()),
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        ("x-amzn-ErrorType", f"{code}:http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/"),
    ]
    return Reply(error_statuses().get(code, 400), headers, json_bytes(body))


def invoke_endpoint(req: Request, region: str) -> Reply:
    """``POST /endpoints/{EndpointName}/invocations``: echo the request, or a triggered modeled error."""
    m = ROUTE.match(req.path)
    if m is None or req.method != "POST":
        return _error("ValidationError", f"unsupported SageMaker Runtime request {req.method} {req.path}", region, "")
    name = unquote(m.group("name"))
    if name.startswith("sandbox-error-"):
        code = name.removeprefix("sandbox-error-")
        if code not in error_statuses():
            code = "ValidationError"
        return _error(code, f"Received {code} from the sandbox endpoint {name}", region, name)
    content_type = req.header("content-type") or "application/json"
    try:
        sent: Any = json.loads(req.body.decode("utf-8")) if req.body else None
    except (UnicodeDecodeError, ValueError):
        sent = req.body.decode("utf-8", "replace")
    body = {"endpoint": name, "variant": VARIANT, "input": sent, "contentType": content_type}
    body = req.profile.apply_response("sagemaker-runtime.InvokeEndpoint", body)
    headers = [
        ("Date", http_date()),
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        ("x-Amzn-Invoked-Production-Variant", VARIANT),
    ]
    return Reply(200, headers, json_bytes(body))
