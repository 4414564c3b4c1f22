"""The sandbox's one AWS endpoint: requests routed by the service in their SigV4 credential scope.

Bedrock Runtime, the Bedrock control plane (``ListFoundationModels``, ``GetFoundationModel``) and SageMaker
Runtime ``InvokeEndpoint`` are answered here; every other service goes to moto (its WSGI application, called
in-process), with the ``Host`` header moved to the service's AWS host so the URLs moto writes into responses
(SQS queue URLs) are the ones AWS would write, not 127.0.0.1. ``POST /moto-api/reset`` resets moto's state:
every service's resources are gone.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from replaykit.sandbox._http import Reply, Request
from replaykit.sandbox.bedrock import control
from replaykit.sandbox.bedrock import urls as bedrock_urls
from replaykit.sandbox.bedrock.models import BedrockError

_SCOPE = re.compile(r"Credential=[^/,\s]*/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9.-]+)/aws4_request")
_FOUNDATION = re.compile(r"^/foundation-models(?:/(?P<model_id>[^/]+))?/?$")
# hop-by-hop headers a proxy must not forward
_HOP = frozenset(("connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "host"))
RESET_PATH = "/moto-api/reset"
# signing services the sandbox answers itself (everything else is moto's)
MODELED = frozenset(("bedrock", "sagemaker"))


def scope_of(req: Request) -> tuple[str, str] | None:
    """(region, signing service) from the Authorization header or a presigned ``X-Amz-Credential``."""
    m = _SCOPE.search(req.header("authorization") or "")
    if m:
        return m.group("region"), m.group("service")
    cred = (req.query.get("X-Amz-Credential") or [""])[0]
    parts = cred.split("/")
    if len(parts) >= 5 and parts[-1] == "aws4_request":
        return parts[-3], parts[-2]
    return None


def dispatch(req: Request, region: str, service: str, moto: MotoProxy | None) -> Reply:
    """Answer a signed request: Bedrock and SageMaker Runtime here, everything else from moto."""
    if service == "bedrock" or (req.method == "POST" and req.path.startswith("/model/") and not req.query):
        # Bedrock Runtime's paths answer whatever the scope: its handlers refuse a wrong signing service as AWS does
        for r in bedrock_urls.ROUTES:
            match = r.pattern.match(req.path)
            if match and r.method == req.method:
                req.params = match.groupdict()
                return r.handler(req)
    if service == "bedrock":
        m = _FOUNDATION.match(req.path)
        if m and req.method == "GET":
            if m.group("model_id"):
                req.params = {"model_id": m.group("model_id")}
                return control.get_foundation_model(req, region)
            return control.list_foundation_models(req, region)
        return bedrock_urls.FALLBACK(req)
    if service == "sagemaker" and req.path.startswith("/endpoints/"):
        from replaykit.sandbox import sagemaker

        return sagemaker.invoke_endpoint(req, region)
    if moto is None:  # in-process use without moto (server.handle): only what the sandbox models answers
        return bedrock_urls.FALLBACK(req)
    return moto.forward(req, region, service)


class MotoProxy:
    """moto's WSGI application called in-process (the server moto's own port runs, without a socket).

    In-process on purpose: an HTTP hop from inside the recording process would itself be recorded by vcrpy.
    """

    def __init__(self, host: str, port: int, aws_host: Callable[[str, str], str]) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.host = host
        self.port = port
        self._aws_host = aws_host
        self._app = DomainDispatcherApplication(create_backend_app)

    def forward(self, req: Request, region: str | None, service: str | None) -> Reply:
        """Answer the request with moto, as moto's server would."""
        target = req.raw_target or req.path
        path, _, query = target.partition("?")
        # S3 keeps its path-style local host (moto reads the bucket from it); others see their AWS host
        on_aws = bool(service and region and service != "s3")
        host = self._aws_host(service, region) if on_aws else self.host  # type: ignore[arg-type]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": req.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path).encode("utf-8").decode("latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "SERVER_NAME": host.partition(":")[0],
            "SERVER_PORT": "443" if on_aws else str(self.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if on_aws else "http",
            "wsgi.input": io.BytesIO(req.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(req.body)),
        }
        for name, value in req.headers.items():
            if name in _HOP or name == "content-length":
                continue
            if name == "content-type":
                environ["CONTENT_TYPE"] = value
            else:
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        environ["HTTP_HOST"] = host if on_aws else f"{self.host}:{self.port}"
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started["status"], started["headers"] = status, headers
            return lambda data: None

        result = self._app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        out = [(k, v) for k, v in started["headers"] if k.lower() not in _HOP and k.lower() != "content-length"]
        out.append(("Content-Length", str(len(body))))
        return Reply(int(started["status"].split(" ", 1)[0]), out, body)


def reset() -> None:
    """Empty moto's state in this process (every service: what ``POST /moto-api/reset`` does over HTTP).

    In-process, not over HTTP: the plugin calls it while vcrpy records, which would record the reset too.
    """
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def aws_host(service: str, region: str) -> str:
    """The host botocore addresses for a signing service in a region (its first service by that name)."""
    from replaykit.providers import aws

    names = aws.services_for(service)
    if not names:
        raise BedrockError("UnrecognizedClientException", f"no AWS service is signed as {service!r}")
    return urlsplit(aws.endpoint_url(names[0], region)).netloc
