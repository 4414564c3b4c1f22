"""Official shapes as contracts: botocore's service models for AWS operations, the openai SDK's pydantic types.

They are the yardstick recorded traffic and inferred contracts are checked against. Deviations from the pure
model, each because the wire differs from the model: AWS event stream payloads may carry the padding field
``p``; rest-json timestamps may be numbers or strings; rest-xml (S3) leaves are strings (XML text) and flattened
lists accept a single element (``xml_to_json`` cannot tell one from a list of one); error bodies are lenient.
Objects are closed (``additionalProperties: false``) so fields the spec does not know are reported.
"""

from __future__ import annotations

import warnings
from functools import cache, lru_cache
from typing import Any

from replaykit.contracts.document import DOCUMENT, FORMAT, SCHEMA_URI, UNION
from replaykit.errors import ConfigError

DEFAULT_OPERATIONS = (
    "bedrock-runtime.Converse",
    "bedrock-runtime.ConverseStream",
    "bedrock-runtime.InvokeModel",
    "bedrock-runtime.InvokeModelWithResponseStream",
    "bedrock-runtime.CountTokens",
    "s3.GetObject",
    "s3.PutObject",
    "s3.ListObjectsV2",
    "s3.HeadObject",
    "openai.chat.completions",
    "openai.embeddings",
    "openai.responses",
    "openai.models.list",
    "openai.models.retrieve",
)
_OPENAI_OPS = frozenset(op for op in DEFAULT_OPERATIONS if op.startswith("openai."))
_BODY_LOCATIONS = frozenset({"header", "headers", "statusCode", "querystring", "uri"})
_PADDING = {"type": "string", "description": "random-length padding of AWS event stream frames (not in the model)"}
_XML_PROTOCOLS = frozenset({"rest-xml", "query", "ec2"})
_NULL_BODY = {"type": "null"}


def has_official(operation: str) -> bool:
    """Whether an official shape can be built for an operation."""
    if operation in _OPENAI_OPS:
        return True
    service, _, name = operation.partition(".")
    if service in ("openai", "http") or not name:
        return False
    try:
        return name in _service_model(service).operation_names
    except ConfigError:
        return False


@cache
def official_schema(operation: str) -> dict[str, Any]:
    """The official contract of an operation (cached: treat as read-only); ConfigError when there is none."""
    if operation.startswith("openai."):
        if operation not in _OPENAI_OPS:
            raise ConfigError(
                f"no official schema for {operation}: known OpenAI operations are " + ", ".join(sorted(_OPENAI_OPS))
            )
        return _openai_contract(operation)
    service, _, name = operation.partition(".")
    model = _service_model(service)
    if name not in model.operation_names:
        raise ConfigError(f"no official schema for {operation}: {service} has no operation {name!r}")
    return _aws_contract(model, name)


# ---------------------------------------------------------------- AWS (botocore)


@lru_cache(maxsize=32)
def _service_model(service: str) -> Any:
    from botocore.exceptions import UnknownServiceError

    try:
        return _session().get_service_model(service)
    except UnknownServiceError:
        raise ConfigError(f"no official schema: botocore knows no service {service!r}") from None


@lru_cache(maxsize=1)
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


class _Shapes:
    """Converts botocore shapes to JSON Schema; structures, lists and maps go to ``$defs`` by shape name."""

    def __init__(self, xml: bool) -> None:
        self.xml = xml
        self.defs: dict[str, Any] = {}

    def schema(self, shape: Any) -> dict[str, Any]:
        if shape.type_name in ("structure", "list", "map") and not shape.metadata.get("document"):
            if shape.name not in self.defs:
                self.defs[shape.name] = {}  # placeholder first: recursive shapes refer back to it
                self.defs[shape.name] = self._build(shape)
            return {"$ref": f"#/$defs/{shape.name}"}
        return self._scalar(shape)

    def _scalar(self, shape: Any) -> dict[str, Any]:
        t = shape.type_name
        if shape.metadata.get("document") or t == "document":
            return {DOCUMENT: True}
        if t == "string":
            out: dict[str, Any] = {"type": "string"}
            if shape.enum:
                out["enum"] = list(shape.enum)
            return out
        if self.xml:  # XML text: every leaf is a string
            if t in ("integer", "long"):
                return {"type": "string", "pattern": r"^-?[0-9]+$"}
            if t == "boolean":
                return {"type": "string", "enum": ["true", "false"]}
            return {"type": "string"}
        scalars: dict[str, dict[str, Any]] = {
            "integer": {"type": "integer"},
            "long": {"type": "integer"},
            "float": {"type": "number"},
            "double": {"type": "number"},
            "boolean": {"type": "boolean"},
            "blob": {"type": "string"},
            "timestamp": {"type": ["number", "string"]},
        }
        return scalars.get(t, {})

    def _wire_name(self, name: str, member: Any) -> str:
        if self.xml and member.type_name == "list" and member.serialization.get("flattened"):
            return member.member.serialization.get("name") or member.serialization.get("name", name)
        return member.serialization.get("name", name)

    def _member(self, member: Any) -> dict[str, Any]:
        schema = self.schema(member)
        if self.xml and member.type_name == "list" and member.serialization.get("flattened"):
            item = self.schema(member.member)
            return {"anyOf": [item, {"type": "array", "items": item}]}
        return schema

    def _build(self, shape: Any) -> dict[str, Any]:
        if shape.type_name == "list":
            item = self.schema(shape.member)
            if self.xml:
                inner = shape.member.serialization.get("name", "member")
                return {
                    "type": ["object", "string"],
                    "additionalProperties": False,
                    "properties": {inner: {"anyOf": [item, {"type": "array", "items": item}]}},
                }
            return {"type": "array", "items": item}
        if shape.type_name == "map":
            if self.xml:
                return {"type": "object"}
            return {"type": "object", "additionalProperties": self.schema(shape.value)}
        return self.structure(shape, shape.members)

    def structure(self, shape: Any, members: dict[str, Any], *, padded: bool = False) -> dict[str, Any]:
        props: dict[str, Any] = {}
        names: dict[str, str] = {}
        for name, member in members.items():
            if member.serialization.get("location") in _BODY_LOCATIONS or member.serialization.get("eventheader"):
                continue
            wire = self._wire_name(name, member)
            names[name] = wire
            props[wire] = self._member(member)
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        required = [names[r] for r in shape.metadata.get("required", []) if r in names]
        if required:
            out["required"] = required
        if shape.metadata.get("union"):
            out[UNION] = True
        if padded:
            props["p"] = dict(_PADDING)
        return out

    def body(self, shape: Any) -> dict[str, Any]:
        """The schema of the HTTP body of an input/output shape (payload member, body members, or nothing)."""
        if shape is None:
            return dict(_NULL_BODY)
        payload = shape.serialization.get("payload")
        if payload:
            member = shape.members[payload]
            if member.type_name != "structure":
                return {}
            schema = self.schema(member)
            # an optional payload (S3 CreateBucketConfiguration) is simply absent: an empty body
            return schema if payload in shape.required_members else {"anyOf": [schema, dict(_NULL_BODY)]}
        if not any(m.serialization.get("location") not in _BODY_LOCATIONS for m in shape.members.values()):
            return dict(_NULL_BODY)
        return self.structure(shape, shape.members)

    def event(self, shape: Any) -> dict[str, Any]:
        """The payload schema of one event of an event stream (padding ``p`` allowed)."""
        for member in shape.members.values():
            if member.serialization.get("eventpayload"):
                return self.schema(member) if member.type_name == "structure" else {}
        return self.structure(shape, shape.members, padded=True)


def _aws_contract(model: Any, name: str) -> dict[str, Any]:
    import botocore

    op = model.operation_model(name)
    xml = model.protocol in _XML_PROTOCOLS
    shapes = _Shapes(xml)
    stream = op.get_event_stream_output()
    response: dict[str, Any] = {}
    output = op.output_shape
    payload = output.serialization.get("payload") if output is not None else None
    blob_body = bool(payload and output.members[payload].type_name in ("blob", "string"))
    no_body = output is None or (
        not payload and all(m.serialization.get("location") in _BODY_LOCATIONS for m in output.members.values())
    )
    if not (blob_body or no_body):  # a blob payload or a header-only answer carries the object's own type
        response["content_types"] = _content_types(model)
    if stream is not None:
        response["content_types"] = ["application/json", "application/vnd.amazon.eventstream"]
        response["events"] = {ev: shapes.event(shape) for ev, shape in stream.members.items()}
        response["event_types"] = sorted(stream.members)
    elif model.protocol in ("query", "ec2"):
        # the XML root element is dropped when read; query wraps the members in <Name>Result, EC2 does not
        result = shapes.structure(output, output.members) if output is not None else {"type": "object"}
        props = {"ResponseMetadata": {"type": "object"}, "requestId": {"type": "string"}}
        if model.protocol == "query":
            props[f"{name}Result"] = result
            response["success"] = {"type": "object", "properties": props}
        else:
            response["success"] = {"anyOf": [result, {"type": "object", "properties": props}]}
    else:
        response["success"] = shapes.body(output)
    error_props: dict[str, Any] = {
        "message": {"type": "string"},
        "Message": {"type": "string"},
        "__type": {"type": "string"},
        "code": {"type": "string"},
    }
    if xml:
        error_props = {k: {"type": "string"} for k in ("Code", "Message", "RequestId", "HostId")}
    for err in op.error_shapes:
        for mname, member in err.members.items():
            if member.serialization.get("location") not in _BODY_LOCATIONS:
                error_props.setdefault(shapes._wire_name(mname, member), shapes._member(member))
    response["error"] = {"type": "object", "properties": error_props}
    doc: dict[str, Any] = {
        "$schema": SCHEMA_URI,
        "x-replaykit": {
            "format": FORMAT,
            "operation": f"{model.service_name}.{name}",
            "streaming": bool(stream),
            "official": f"botocore {botocore.__version__} {model.service_name} {model.api_version}",
        },
        "request": _request(model, op, shapes),
        "response": response,
    }
    if shapes.defs:
        doc["$defs"] = shapes.defs
    return doc


def _content_types(model: Any) -> list[str]:
    """Response media types by protocol: JSON 1.0/1.1 (json), CBOR (rpc-v2), XML (rest-xml, query, ec2)."""
    protocol = model.protocol
    if protocol == "json":
        return [f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}", "application/json"]
    if protocol == "smithy-rpc-v2-cbor":
        return ["application/cbor"]
    if protocol in ("query", "ec2"):
        return ["application/xml", "text/xml"]  # STS, SQS (query mode), IAM answer text/xml
    if protocol == "rest-xml":
        return ["application/xml"]
    return ["application/json"]


def _request(model: Any, op: Any, shapes: _Shapes) -> dict[str, Any]:
    """The request body: a form for query/ec2, always an object for json/rpc-v2 (``{}`` without input)."""
    if model.protocol in ("query", "ec2"):
        return {"type": "string", "contentMediaType": "application/x-www-form-urlencoded"}
    if model.protocol in ("json", "smithy-rpc-v2-cbor"):
        shape = op.input_shape
        return shapes.structure(shape, shape.members) if shape is not None else {"type": "object"}
    return shapes.body(op.input_shape)


# ---------------------------------------------------------------- OpenAI (pydantic models of the openai SDK)


def _openai_types(operation: str) -> tuple[Any, Any, dict[str, Any], str]:
    """(request type, success type, {event name: type or None for "by discriminator"}, description)."""
    from openai.types import CreateEmbeddingResponse, Model, embedding_create_params
    from openai.types.chat import ChatCompletion, ChatCompletionChunk, completion_create_params
    from openai.types.responses import Response, ResponseStreamEvent, response_create_params

    if operation == "openai.chat.completions":
        return (
            completion_create_params.CompletionCreateParams,
            ChatCompletion,
            {"data": ChatCompletionChunk},
            "ChatCompletion / ChatCompletionChunk",
        )
    if operation == "openai.embeddings":
        return embedding_create_params.EmbeddingCreateParams, CreateEmbeddingResponse, {}, "CreateEmbeddingResponse"
    if operation == "openai.responses":
        return (
            response_create_params.ResponseCreateParams,
            Response,
            {"*": ResponseStreamEvent},
            "Response / ResponseStreamEvent",
        )
    if operation == "openai.models.list":
        return None, Model, {}, "SyncPage[Model]"
    return None, Model, {}, "Model"


def _openai_contract(operation: str) -> dict[str, Any]:
    import openai
    from openai.types.shared import ErrorObject
    from pydantic import TypeAdapter

    request_type, success_type, event_types, described = _openai_types(operation)
    inputs: list[tuple[str, Any]] = [("success", success_type), ("error", ErrorObject)]
    inputs += [(f"event:{k}", t) for k, t in event_types.items()]
    if request_type is not None:
        inputs.append(("request", request_type))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic warns about non-JSON defaults it leaves out
        schemas, defs = TypeAdapter.json_schemas(
            [(key, "validation", TypeAdapter(t)) for key, t in inputs], ref_template="#/$defs/{model}"
        )
    top = {key: schemas[(key, "validation")] for key, _t in inputs}
    all_defs = _tidy(defs.get("$defs", {}))
    top = {k: _tidy(v) for k, v in top.items()}
    if operation == "openai.embeddings" and "Embedding" in all_defs:
        # the SDK asks for encoding_format=base64 by default and decodes it itself: the wire has a string there
        prop = all_defs["Embedding"]["properties"]["embedding"]
        all_defs["Embedding"]["properties"]["embedding"] = {
            "anyOf": [prop, {"type": "string", "contentEncoding": "base64"}]
        }
    success = top["success"]
    if operation == "openai.models.list":
        success = {
            "type": "object",
            "additionalProperties": False,
            "required": ["data", "object"],
            "properties": {"object": {"type": "string", "const": "list"}, "data": {"type": "array", "items": success}},
        }
    response: dict[str, Any] = {
        "content_types": ["application/json"],
        "success": success,
        "error": {"type": "object", "properties": {"error": top["error"]}, "required": ["error"]},
    }
    events: dict[str, Any] = {}
    if "event:data" in top:
        events = {"data": top["event:data"], "[DONE]": {"const": "[DONE]"}}
    elif "event:*" in top:
        for variant in top["event:*"].get("anyOf", []):
            target = all_defs.get(str(variant.get("$ref", "")).rsplit("/", 1)[-1], {})
            const = ((target.get("properties") or {}).get("type") or {}).get("const")
            if isinstance(const, str):
                events[const] = variant
    if events:
        response["content_types"] = ["application/json", "text/event-stream"]
        response["events"] = events
        response["event_types"] = sorted(events)
    doc: dict[str, Any] = {
        "$schema": SCHEMA_URI,
        "x-replaykit": {
            "format": FORMAT,
            "operation": operation,
            "streaming": bool(events),
            "official": f"openai {openai.__version__} {described}",
        },
        "request": top.get("request", dict(_NULL_BODY)),
        "response": response,
        "$defs": all_defs,
    }
    return doc


def _tidy(node: Any) -> Any:
    """Drop titles, descriptions and defaults (size, not meaning) and close objects (report unknown fields)."""
    if isinstance(node, list):
        return [_tidy(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _tidy(v) for k, v in node.items() if k not in ("title", "description", "default", "properties")}
    if isinstance(node.get("properties"), dict):  # property names are data: a field may be called "title"
        out["properties"] = {k: _tidy(v) for k, v in node["properties"].items()}
    if "properties" in out and out.get("additionalProperties", True) is True:
        out["additionalProperties"] = False
    return out
