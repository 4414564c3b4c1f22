"""A hostile 'provider' on 127.0.0.1 that echoes planted secrets everywhere a real provider or SDK can put them."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from replaykit.codecs import eventstream, sse

# the secret the next request plants; responses echo it back in headers, bodies, streams and errors
PLANTED: dict[str, str] = {"secret": ""}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _send(self, status: int, ctype: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        secret = PLANTED["secret"]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-echo-secret", secret.replace("\n", " "))
        self.send_header("openai-organization", "org-" + secret[:30].replace("\n", " "))
        self.send_header("Set-Cookie", f"session={secret[:40]}; Path=/")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        secret = PLANTED["secret"]
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
        req = json.loads(raw or b"{}")
        path = self.path
        if path.startswith("/v1/chat/completions"):
            if req.get("model") == "error":
                body = {"error": {"message": f"Incorrect API key provided: {secret}", "type": "invalid_request_error",
                                  "param": None, "code": "invalid_api_key"}}
                return self._send(401, "application/json", json.dumps(body).encode())
            message = {"role": "assistant", "content": f"echo {secret}", "refusal": None}
            if req.get("stream"):
                chunks = [{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                           "choices": [{"index": 0, "delta": {"role": "assistant", "content": f"echo {secret}"},
                                        "finish_reason": None}]},
                          {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                           "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
                events = [sse.Event(json.dumps(c, separators=(",", ":"))) for c in chunks] + [sse.Event("[DONE]")]
                return self._send(200, "text/event-stream", sse.encode(events))
            body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    "metadata": {secret: secret}}
            return self._send(200, "application/json", json.dumps(body, indent=2).encode())
        if path.endswith("/converse-stream"):
            def ev(name: str, payload: dict) -> eventstream.Message:
                return eventstream.Message({":event-type": name, ":content-type": "application/json",
                                            ":message-type": "event"}, json.dumps(payload).encode())
            msgs = [ev("messageStart", {"role": "assistant"}),
                    ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": f"echo {secret}"}}),
                    ev("contentBlockStop", {"contentBlockIndex": 0}), ev("messageStop", {"stopReason": "end_turn"}),
                    ev("metadata", {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                                    "metrics": {"latencyMs": 1}})]
            return self._send(200, eventstream.CONTENT_TYPE, eventstream.encode(msgs))
        if path.endswith("/invoke-with-response-stream"):
            inner = json.dumps({"type": "content_block_delta", "delta": {"type": "text_delta", "text": secret}})
            payload = json.dumps({"bytes": base64.b64encode(inner.encode()).decode()}).encode()
            msg = eventstream.Message({":event-type": "chunk", ":content-type": "application/json",
                                       ":message-type": "event"}, payload)
            return self._send(200, eventstream.CONTENT_TYPE, eventstream.encode([msg]))
        if path.endswith("/converse"):
            body = {"output": {"message": {"role": "assistant", "content": [{"text": f"echo {secret}"}]}},
                    "stopReason": "end_turn", "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                    "metrics": {"latencyMs": 1}}
            return self._send(200, "application/json", json.dumps(body).encode())
        return self._send(404, "application/json", b'{"message":"not found"}', {"x-amzn-ErrorType": "X"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def planted() -> dict[str, str]:
    """Set ``planted["secret"]`` to what the hostile server should echo back."""
    return PLANTED


@pytest.fixture(scope="session")
def hostile_server() -> Iterator[str]:
    """Base URL of the hostile provider."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
