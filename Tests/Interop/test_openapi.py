"""Every live response against Schemas/openapi.json, and the inlined notice schema against notice.schema.json.

One scenario drives every operation of the API (partners, tokens, cases, notices with their `status` and
`overdue` filters and their answers, the removal figures, scorecards and their CSV rows, the outbox:
deliveries, retries, recovery, endpoint health and webhook secrets, the hash lists: definitions and grants,
entries, feedback, the NDJSON change feed, signed versions and every export, gzip and `If-None-Match`, downloads,
the discovery endpoints and /metrics, and the error statuses 304, 400, 401, 403, 404, 406, 409, 410, 413,
415 and 422); a second, short-deadline gateway
shows overdue notices with a negative `time_left_seconds`. Webhooks go to a port
where nothing listens (they fail and, with a one-attempt retry schedule, die at once) and to a small
receiver in this module that answers 204 or 410, so succeeded and disabled endpoints are reached too. Each response
is looked up in the OpenAPI document by method and templated path: its status must be documented (a
4xx may not hide behind `default`, which the document reserves for 500/503), its Content-Type must be one
the response lists, and its body must validate (jsonschema, Draft 2020-12, with the format checker)
against the listed schema, `#/components/...` references resolving through a `referencing` registry
that holds the whole OpenAPI document; a stream of JSON texts (NDJSON) is also split into lines, each valid
by the media type's `x-item-schema`. Request bodies the server accepted must validate against the
documented request schema too, so the document never rejects what the server takes. Every operation
in the document must be exercised, so a new route cannot go untested.

The document also carries a copy of notice.schema.json (`components/schemas/NoticeDocument`, for clients
that only read /openapi.json); real notices and systematic mutations of them must get the same verdict
from both.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from conftest import (
    METRICS_TOKEN,
    FORMAT_CHECKER,
    HTTP_TIMEOUT,
    SCHEMAS_DIR,
    Gateway,
    GatewayError,
    b64url_decode,
    b64url_encode,
    errors_of,
    item,
    jws_parts,
    load_registry,
    make_validator,
    tag,
)

OPENAPI_PATH = SCHEMAS_DIR / "openapi.json"
NOTICE_SCHEMA_PATH = SCHEMAS_DIR / "notice.schema.json"
# The URI the OpenAPI document is registered under; its `#/components/...` references resolve against it.
OPENAPI_URI = "https://takedown-gateway.example/openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Small enough to provoke a 413 cheaply, large enough for every realistic body of the scenario.
MAX_BODY_BYTES = 64 * 1024
NOTHING = object()
# Port 9 (discard) on loopback: nothing listens, so every attempt is refused at once.
DEAD_WEBHOOK = "http://127.0.0.1:9/hook"
# How long the scenario waits for the outbox worker to settle a delivery.
DELIVERY_TIMEOUT = 30.0
WEBHOOK_SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]{43}=$"


def escape(segment: str) -> str:
    """One JSON Pointer reference token (RFC 6901)."""
    return segment.replace("~", "~0").replace("/", "~1")


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


# --- the OpenAPI document ---------------------------------------------------------------------------


class OpenAPI:
    def __init__(self, path: Path) -> None:
        self.document = json.loads(path.read_text(encoding="utf-8"))
        self.registry = Registry().with_resource(OPENAPI_URI, DRAFT202012.create_resource(self.document))
        self._validators: dict[str, Draft202012Validator] = {}

    def operations(self) -> set[tuple[str, str]]:
        return {
            (method.upper(), template)
            for template, path_item in self.document["paths"].items()
            for method in path_item
            if method in HTTP_METHODS
        }

    def at(self, pointer: str) -> Any:
        node = self.document
        for token in pointer.split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def follow(self, pointer: str) -> tuple[Any, str]:
        """The object at `pointer` after following its (local) `$ref`s, and where it really is."""
        node = self.at(pointer)
        for _ in range(20):
            if not (isinstance(node, dict) and "$ref" in node):
                return node, pointer
            ref = node["$ref"]
            assert ref.startswith("#/"), f"{pointer}: only local references are expected, not {ref}"
            pointer = ref[1:]
            node = self.at(pointer)
        raise AssertionError(f"{pointer}: $ref loop")

    def validator(self, pointer: str) -> Draft202012Validator:
        """A validator for the schema at `pointer`, resolving its references inside the whole document."""
        validator = self._validators.get(pointer)
        if validator is None:
            schema = {"$ref": f"{OPENAPI_URI}#{quote(pointer, safe='/~')}"}
            validator = Draft202012Validator(schema, registry=self.registry, format_checker=FORMAT_CHECKER)
            self._validators[pointer] = validator
        return validator

    def match(self, method: str, path: str) -> tuple[str | None, str | None]:
        """The path template matching `path` (literal segments beat parameters) and its operation's pointer."""
        segments = path.split("/")
        best: tuple[int, str] | None = None
        for template, item in self.document["paths"].items():
            pattern = template.split("/")
            if item.get("x-catch-all") and len(segments) > len(pattern):
                # The last parameter takes the rest of the path, slashes included (`/log/tile/{tile_path}`).
                segments_here = segments[:len(pattern) - 1] + ["/".join(segments[len(pattern) - 1:])]
            else:
                segments_here = segments
            if len(pattern) != len(segments_here):
                continue
            literal = 0
            for expected, actual in zip(pattern, segments_here):
                if expected.startswith("{") and expected.endswith("}"):
                    if not actual:
                        break
                elif expected == actual:
                    literal += 1
                else:
                    break
            else:
                if best is None or literal > best[0]:
                    best = (literal, template)
        if best is None:
            return None, None
        template = best[1]
        if method.lower() not in self.document["paths"][template]:
            return template, None
        return template, f"/paths/{escape(template)}/{method.lower()}"


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return OpenAPI(OPENAPI_PATH)


def test_openapi_document_is_valid_openapi_3_1(openapi: OpenAPI):
    validate(openapi.document)  # raises with the first problem
    assert openapi.document["openapi"].startswith("3.1"), openapi.document["openapi"]
    Draft202012Validator.check_schema(openapi.document["components"]["schemas"]["NoticeDocument"])


# --- a client that checks every response ------------------------------------------------------------


class CheckedClient:
    """Sends requests to a gateway and checks each response against the OpenAPI document."""

    def __init__(self, gateway: Gateway, spec: OpenAPI) -> None:
        self.gateway = gateway
        self.spec = spec
        self.problems: list[str] = []
        self.exercised: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.responses = 0

    def call(
        self,
        method: str,
        path: str,
        *,
        expect: int,
        token: str | None = None,
        body: Any = NOTHING,
        raw: bytes | None = None,
        content_type: str | None = None,
        accept: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        unknown_route: bool = False,
    ) -> requests.Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if accept is not None:
            sent["Accept"] = accept
        data = raw
        if body is not NOTHING:
            data = json.dumps(body).encode("utf-8")
        if data is not None:
            sent["Content-Type"] = content_type or "application/json"
        response = self.gateway.http.request(
            method, self.gateway.url + path, headers=sent, data=data, params=params, timeout=HTTP_TIMEOUT
        )
        self.responses += 1
        self.check(method, path, response, body, unknown_route)
        if response.status_code != expect:
            raise GatewayError(
                f"{method} {path}: expected {expect}, got {response.status_code}\n{response.text[:3000]}"
            )
        return response

    def fail(self, label: str, message: str) -> None:
        self.problems.append(f"{label}: {message}")

    def check(self, method: str, path: str, response: requests.Response, body: Any, unknown_route: bool) -> None:
        status = response.status_code
        label = f"{method} {path} -> {status}"
        spec = self.spec
        template, operation = spec.match(method, path)
        if unknown_route:
            # No operation describes a route that does not exist; the document promises the NotFound problem.
            if operation is not None:
                self.fail(label, f"meant as an unknown route, but {method} {template} is documented")
            if status != 404:
                self.fail(label, "an unknown route must be a 404")
            response_pointer = "/components/responses/NotFound"
        else:
            if template is None:
                return self.fail(label, "no path of openapi.json matches")
            if operation is None:
                return self.fail(label, f"{template} documents no {method} operation")
            self.exercised[(method, template)].add(status)
            label = f"{method} {path} ({template}) -> {status}"
            responses = spec.at(f"{operation}/responses")
            key = next((k for k in (str(status), f"{str(status)[0]}XX") if k in responses), None)
            if key is None:
                if "default" not in responses:
                    return self.fail(label, f"status {status} is not documented and there is no default response")
                if status < 500:
                    # `default` is the server-error response (500/503) in this document.
                    return self.fail(label, f"status {status} is not documented (only `default` would match)")
                key = "default"
            response_pointer = f"{operation}/responses/{escape(key)}"
            if 200 <= status < 300 and body is not NOTHING:
                self.check_request_body(label, operation, body)
        description, response_pointer = spec.follow(response_pointer)

        # headers
        for name, header in (description.get("headers") or {}).items():
            header, header_pointer = spec.follow(f"{response_pointer}/headers/{escape(name)}")
            value = response.headers.get(name)
            if value is None:
                if header.get("required") or name.lower() == "x-request-id":
                    self.fail(label, f"header {name} is documented but missing")
                continue
            if "schema" in header:
                for problem in errors_of(spec.validator(f"{header_pointer}/schema"), value):
                    self.fail(label, f"header {name}: {problem}")

        # body
        content = description.get("content") or {}
        content_type = response.headers.get("content-type")
        if not content:
            if response.content:
                self.fail(label, f"the response is documented without content but has a body ({content_type})")
            return
        if not content_type:
            return self.fail(label, f"no Content-Type; documented: {sorted(content)}")
        media_type = content_type.split(";")[0].strip().lower()
        listed = {key.lower(): key for key in content}
        if media_type not in listed:
            return self.fail(label, f"Content-Type {content_type} is not documented; documented: {sorted(content)}")
        media_pointer = f"{response_pointer}/content/{escape(listed[media_type])}"
        if is_json(media_type):
            try:
                instance = response.json()
            except ValueError as error:
                return self.fail(label, f"{media_type} body is not JSON ({error}): {response.text[:200]!r}")
        else:
            # A media type without a charset (application/x-ndjson) is UTF-8 here, never a guess.
            instance = response.text if response.encoding else response.content.decode("utf-8", errors="replace")
        media = content[listed[media_type]]
        if "schema" in media:
            problems = errors_of(spec.validator(f"{media_pointer}/schema"), instance)
            for problem in problems[:20]:
                self.fail(label, f"body does not validate against {media_pointer}/schema: {problem}")
        if "x-item-schema" in media and isinstance(instance, str):
            # A stream of JSON texts (NDJSON): every line is one item, valid by the item schema.
            items = spec.validator(f"{media_pointer}/x-item-schema")
            for number, line in enumerate(instance.splitlines(), start=1):
                try:
                    record = json.loads(line)
                except ValueError as error:
                    self.fail(label, f"line {number} is not JSON ({error}): {line[:200]!r}")
                    continue
                for problem in errors_of(items, record)[:5]:
                    self.fail(label, f"line {number} does not validate against {media_pointer}/x-item-schema: {problem}")
        if media_type == "application/problem+json" and isinstance(instance, dict):
            if instance.get("status") != status:
                self.fail(label, f"problem status {instance.get('status')!r} is not the HTTP status")
            if instance.get("instance") != path:
                self.fail(label, f"problem instance {instance.get('instance')!r} is not the request path")

    def check_request_body(self, label: str, operation: str, body: Any) -> None:
        """A body the server accepted must be valid by the document's request schema."""
        if "requestBody" not in self.spec.at(operation):
            return self.fail(label, "the server accepted a body that the operation does not document")
        request_body, pointer = self.spec.follow(f"{operation}/requestBody")
        if "application/json" not in (request_body.get("content") or {}):
            return self.fail(label, "the server accepted a JSON body that the operation does not document")
        for problem in errors_of(self.spec.validator(f"{pointer}/content/application~1json/schema"), body)[:20]:
            self.fail(label, f"the accepted request body does not validate against the documented schema: {problem}")


class SmallBodyGateway(Gateway):
    """The scenario's gateway: a small TAKEDOWN_MAX_BODY_BYTES, so a 413 costs little; webhooks allowed to
    loopback (the dead port and the receiver below); one attempt per delivery, so a failure is dead at once;
    a short webhook timeout, because the HTTP client keeps retrying a refused connection until its connect
    timeout (min(timeout, 10 s)) runs out, so every attempt on the dead port takes that long. Hash lists are
    published only when the scenario asks (no schedule), tombstones are kept for the shortest retention (a
    day), and maintenance (tombstone compaction) runs every second, so a tombstone the scenario backdates is
    compacted at once."""

    def environment(self) -> dict[str, str]:
        return {
            **super().environment(),
            "TAKEDOWN_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
            "TAKEDOWN_RETRY_SCHEDULE": "0",
            "TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS": "2",
            "TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS": "0",
            "TAKEDOWN_HASH_MAINTENANCE_INTERVAL_SECONDS": "1",
            "TAKEDOWN_HASH_TOMBSTONE_RETENTION_DAYS": "1",
        }


class _HookHandler(BaseHTTPRequestHandler):
    """POST /ok answers 204, POST /gone answers 410 Gone (which disables the endpoint), anything else 404."""

    protocol_version = "HTTP/1.1"
    ANSWERS = {"/ok": 204, "/gone": 410}

    def do_POST(self) -> None:  # noqa: N802 (the http.server naming)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break
        else:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((self.path, self.headers.get("webhook-id")))  # type: ignore[attr-defined]
        self.send_response(self.ANSWERS.get(self.path, 404))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HookReceiver:
    """A webhook endpoint on 127.0.0.1 and a free port, served from a thread of this process."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _HookHandler)
        self.server.daemon_threads = True
        self.server.received = []  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, name="hook-receiver", daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


# --- the scenario -----------------------------------------------------------------------------------


def just_now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def just_now_in_paris() -> str:
    """Now, as RFC 3339 with a +01:00 offset and no fractional seconds (requests may send any RFC 3339 time)."""
    moment = datetime.now(timezone(timedelta(hours=1))) + timedelta(seconds=1)
    return moment.isoformat(timespec="seconds")


def partner_body(*, name: str, locale: str | None, jurisdiction: str, domains: list[str], **extra: Any) -> dict:
    body: dict[str, Any] = {
        "name": name,
        "kind": "hosting_provider",
        "contact_email": f"abuse@{domains[0] if domains else 'partner.test'}",
        "jurisdiction": jurisdiction,
        "routing": {"domains": domains, "ip_ranges": []},
    }
    if locale is not None:
        body["locale"] = locale
    body.update(extra)
    return body


class Scenario:
    def __init__(self, client: CheckedClient, receiver: HookReceiver) -> None:
        self.c = client
        self.gateway = client.gateway
        self.receiver = receiver
        self.admin = client.gateway.admin_token
        self.notice_documents: list[dict] = []

    def run(self) -> None:
        self.discovery()
        self.tokens()
        self.partners()
        self.partner_tokens()
        self.cases()
        self.notices()
        self.answers()
        self.figures()
        self.outbox()
        self.hash_lists()
        self.clocks()
        self.referrals()
        self.holds()
        self.audit()
        self.log()
        self.errors()
        self.collect_documents()

    # discovery ------------------------------------------------------------------------------------

    def discovery(self) -> None:
        c = self.c
        c.call("GET", "/healthz", expect=200)
        c.call("GET", "/readyz", expect=200)
        jwks = c.call("GET", "/.well-known/jwks.json", expect=200).json()
        assert jwks["keys"], jwks
        served = c.call("GET", "/openapi.json", expect=200).json()
        assert served == json.loads(OPENAPI_PATH.read_text(encoding="utf-8")), "GET /openapi.json does not serve Schemas/openapi.json"
        metrics = c.call("GET", "/metrics", token=METRICS_TOKEN, expect=200).text
        assert "takedown_outbox_depth" in metrics, metrics[:2000]

    # staff tokens ---------------------------------------------------------------------------------

    def tokens(self) -> None:
        c, admin = self.c, self.admin
        analyst = c.call("POST", "/v1/tokens", token=admin, body={"role": "analyst", "name": f"openapi analyst {tag()}"}, expect=201).json()
        self.analyst = analyst["token"]
        second = c.call("POST", "/v1/tokens", token=admin, body={"role": "admin", "name": "second admin"}, expect=201).json()
        self.second_admin = second["token"]
        c.call("POST", "/v1/tokens", token=admin, body={"role": "partner", "name": " "}, expect=422)
        c.call("POST", "/v1/tokens", token=admin, body={"role": 3, "name": "x"}, expect=400)
        c.call("POST", "/v1/tokens", token=self.analyst, body={"role": "analyst", "name": "x"}, expect=403)
        c.call("POST", "/v1/tokens", body={"role": "analyst", "name": "x"}, expect=401)
        c.call("POST", "/v1/tokens", token="tdk_" + "A" * 43, body={"role": "analyst", "name": "x"}, expect=401)
        c.call("POST", "/v1/tokens", token=admin, raw=b'{"role": "analyst", "name": "x"}', content_type="text/plain", expect=415)

    # partners -------------------------------------------------------------------------------------

    def partners(self) -> None:
        c, admin = self.c, self.admin
        suffix = tag()
        self.de = c.call(
            "POST", "/v1/partners", token=admin, expect=201,
            body=partner_body(name=f"Hoster DE {suffix}", locale="de", jurisdiction="de", domains=["hoster-de.test"],
                              routing={"domains": ["hoster-de.test"], "ip_ranges": ["192.0.2.0/25"]}),
        ).json()
        self.fr = c.call(
            "POST", "/v1/partners", token=admin, expect=201,
            body=partner_body(name=f"Hoster FR {suffix}", locale="fr-CA", jurisdiction="FR", domains=["hoster-fr.test"],
                              routing={"domains": ["hoster-fr.test"], "asns": [64500]},
                              delivery={"email": "notices@hoster-fr.test", "webhook_url": "https://hooks.hoster-fr.test/in"}),
        ).json()
        self.nl = c.call(
            "POST", "/v1/partners", token=admin, expect=201,
            body=partner_body(name=f"Hoster NL {suffix}", locale=None, jurisdiction="NL", domains=["hoster-nl.test"]),
        ).json()
        self.police = c.call(
            "POST", "/v1/partners", token=admin, expect=201,
            body={"name": f"Police {suffix}", "kind": "law_enforcement", "contact_email": "cyber@police.test", "jurisdiction": "GB", "notes": "ignored"},
        ).json()
        assert self.de["locale"] == "de" and self.de["jurisdiction"] == "DE", self.de
        # the webhook secret is shown once, and only to a partner with a webhook
        assert self.fr["webhook_secret"].startswith("whsec_"), self.fr
        assert not {"webhook_secret"} & (self.de.keys() | self.nl.keys() | self.police.keys())

        c.call("POST", "/v1/partners", token=admin, body={}, expect=422)
        c.call("POST", "/v1/partners", token=admin, body=partner_body(name="Dup", locale="en", jurisdiction="GB", domains=["hoster-de.test"]), expect=422)
        c.call("POST", "/v1/partners", token=admin, body={"name": 7}, expect=400)
        c.call("POST", "/v1/partners", token=admin, raw=b'{"name":', expect=400)
        c.call("POST", "/v1/partners", token=admin, raw=b'{}', content_type="text/plain", expect=415)
        c.call("POST", "/v1/partners", token=self.de["token"], body={"name": "x"}, expect=403)
        c.call("POST", "/v1/partners", body={"name": "x"}, expect=401)

        c.call("GET", "/v1/partners", token=admin, expect=200)
        c.call("GET", "/v1/partners", token=self.analyst, expect=200)
        c.call("GET", "/v1/partners", token=self.de["token"], expect=403)
        c.call("GET", "/v1/partners", expect=401)
        c.call("GET", f"/v1/partners/{self.de['id']}", token=self.de["token"], expect=200)
        c.call("GET", f"/v1/partners/{self.de['id']}", token=self.analyst, expect=200)
        c.call("GET", f"/v1/partners/{self.fr['id']}", token=self.de["token"], expect=404)
        c.call("GET", "/v1/partners/ptn_00000000000000000000000000", token=admin, expect=404)
        c.call("GET", "/v1/partners/nonsense", token=admin, expect=404)
        c.call("GET", f"/v1/partners/{self.de['id']}", expect=401)

        patched = c.call(
            "PATCH", f"/v1/partners/{self.fr['id']}", token=admin, expect=200,
            body={"locale": "fr", "name": None, "delivery": {"webhook_url": ""}, "routing": {"domains": ["hoster-fr.test", "Hoster-FR.example."]}},
        ).json()
        assert patched["locale"] == "fr" and "webhook_url" not in patched["delivery"], patched
        assert "webhook_secret" not in patched, patched  # removing the webhook starts no secret
        c.call("PATCH", f"/v1/partners/{self.nl['id']}", token=admin, body={"routing": {"asns": [64501]}}, expect=200)
        c.call("PATCH", f"/v1/partners/{self.fr['id']}", token=admin, body={"kind": "isp"}, expect=422)
        c.call("PATCH", f"/v1/partners/{self.nl['id']}", token=admin, body={"routing": {"domains": ["hoster-de.test"]}}, expect=422)
        c.call("PATCH", f"/v1/partners/{self.fr['id']}", token=admin, raw=b"", expect=400)
        c.call("PATCH", f"/v1/partners/{self.fr['id']}", token=admin, body={"name": ["x"]}, expect=400)
        c.call("PATCH", f"/v1/partners/{self.fr['id']}", token=admin, raw=b'{"name": "x"}', content_type="text/plain", expect=415)
        c.call("PATCH", f"/v1/partners/{self.fr['id']}", token=self.analyst, body={"name": "x"}, expect=403)
        c.call("PATCH", f"/v1/partners/{self.fr['id']}", body={"name": "x"}, expect=401)
        c.call("PATCH", "/v1/partners/ptn_00000000000000000000000000", token=admin, body={"name": "x"}, expect=404)

    def partner_tokens(self) -> None:
        c, admin = self.c, self.admin
        de_id = self.de["id"]
        first = c.call("POST", f"/v1/partners/{de_id}/tokens", token=admin, expect=201).json()
        second = c.call("POST", f"/v1/partners/{de_id}/tokens", token=admin, body={"name": "ops"}, expect=201).json()
        assert first["partner_id"] == de_id and second["name"] == "ops", (first, second)
        c.call("POST", f"/v1/partners/{de_id}/tokens", token=admin, raw=b"[]", expect=400)
        c.call("POST", f"/v1/partners/{de_id}/tokens", token=admin, raw=b"{}", content_type="text/plain", expect=415)
        c.call("POST", f"/v1/partners/{de_id}/tokens", token=self.analyst, expect=403)
        c.call("POST", f"/v1/partners/{de_id}/tokens", expect=401)
        c.call("POST", "/v1/partners/ptn_00000000000000000000000000/tokens", token=admin, expect=404)

        c.call("GET", f"/v1/partners/{de_id}", token=second["token"], expect=200)
        c.call("DELETE", f"/v1/tokens/{second['id']}", token=admin, expect=204)
        c.call("GET", f"/v1/partners/{de_id}", token=second["token"], expect=401)  # revoked
        c.call("DELETE", f"/v1/tokens/{second['id']}", token=admin, expect=404)
        c.call("DELETE", f"/v1/tokens/{first['id']}", token=self.analyst, expect=403)
        c.call("DELETE", f"/v1/tokens/{first['id']}", token=self.fr["token"], expect=404)  # another partner's
        c.call("DELETE", f"/v1/tokens/{first['id']}", expect=401)
        c.call("DELETE", "/v1/tokens/tok_00000000000000000000000000", token=admin, expect=404)
        self.token_listing()
        self.suspension()

    def token_listing(self) -> None:
        c, admin = self.c, self.admin
        de_id = self.de["id"]
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86_400))
        temporary = c.call(
            "POST", "/v1/tokens", token=admin, body={"role": "analyst", "name": "temporary", "expires_at": future}, expect=201
        ).json()
        assert temporary["expires_at"].startswith(future[:-1]), temporary
        expiring = c.call(
            "POST", f"/v1/partners/{de_id}/tokens", token=admin, body={"expires_at": future}, expect=201
        ).json()
        assert expiring["expires_at"].startswith(future[:-1]), expiring
        c.call("POST", "/v1/tokens", token=admin, body={"role": "analyst", "name": "x", "expires_at": "2020-01-01T00:00:00Z"}, expect=422)
        c.call("POST", f"/v1/partners/{de_id}/tokens", token=admin, body={"expires_at": "tomorrow"}, expect=400)

        listed = c.call("GET", "/v1/tokens", token=admin, expect=200).json()
        names = {row["name"] for row in listed["tokens"]}
        assert {"bootstrap", "temporary", "second admin"} <= names, names
        assert temporary["token"] not in json.dumps(listed), "the listing shows a secret"
        page = c.call("GET", "/v1/tokens", token=admin, params={"limit": "2"}, expect=200).json()
        c.call("GET", "/v1/tokens", token=admin, params={"limit": "2", "after": page["next_cursor"]}, expect=200)
        theirs = c.call("GET", "/v1/tokens", token=admin, params={"partner_id": de_id}, expect=200).json()
        assert theirs["tokens"] and all(row["partner_id"] == de_id for row in theirs["tokens"]), theirs
        c.call("GET", "/v1/tokens", token=admin, params={"partner_id": "ptn_00000000000000000000000000"}, expect=404)
        c.call("GET", "/v1/tokens", token=admin, params={"limit": "0"}, expect=400)
        c.call("GET", "/v1/tokens", token=self.analyst, expect=403)
        own = c.call("GET", "/v1/tokens", token=self.de["token"], expect=200).json()
        assert own["tokens"] and all(row["partner_id"] == de_id for row in own["tokens"]), own
        c.call("GET", "/v1/tokens", token=self.de["token"], params={"partner_id": self.fr["id"]}, expect=404)
        c.call("GET", "/v1/tokens", expect=401)

    def suspension(self) -> None:
        c, admin = self.c, self.admin
        nl_id = self.nl["id"]
        suspended = c.call("POST", f"/v1/partners/{nl_id}/suspend", token=admin, body={"reason": "openapi check"}, expect=200).json()
        assert suspended["status"] == "suspended" and suspended["suspension_reason"] == "openapi check", suspended
        c.call("GET", f"/v1/partners/{nl_id}", token=self.nl["token"], expect=401)
        assert c.call("GET", f"/v1/partners/{nl_id}", token=self.analyst, expect=200).json()["status"] == "suspended"
        c.call("POST", f"/v1/partners/{nl_id}/suspend", token=admin, body={"reason": "again"}, expect=409)
        c.call("POST", f"/v1/partners/{nl_id}/suspend", token=admin, body={}, expect=422)
        c.call("POST", f"/v1/partners/{nl_id}/suspend", token=admin, raw=b"", expect=400)
        c.call("POST", f"/v1/partners/{nl_id}/suspend", token=admin, raw=b"{}", content_type="text/plain", expect=415)
        c.call("POST", f"/v1/partners/{nl_id}/suspend", token=self.analyst, body={"reason": "x"}, expect=403)
        c.call("POST", f"/v1/partners/{nl_id}/suspend", body={"reason": "x"}, expect=401)
        c.call("POST", "/v1/partners/ptn_00000000000000000000000000/suspend", token=admin, body={"reason": "x"}, expect=404)
        c.call("POST", f"/v1/partners/{nl_id}/reactivate", token=self.analyst, expect=403)
        c.call("POST", f"/v1/partners/{nl_id}/reactivate", expect=401)
        c.call("POST", "/v1/partners/ptn_00000000000000000000000000/reactivate", token=admin, expect=404)
        active = c.call("POST", f"/v1/partners/{nl_id}/reactivate", token=admin, expect=200).json()
        assert active["status"] == "active" and "suspended_at" not in active, active
        c.call("POST", f"/v1/partners/{nl_id}/reactivate", token=admin, expect=409)
        c.call("GET", f"/v1/partners/{nl_id}", token=self.nl["token"], expect=200)

    # cases ----------------------------------------------------------------------------------------

    def cases(self) -> None:
        c, analyst = self.c, self.analyst
        self.unrouted_domain = f"https://unrouted-{tag()}.test/d.jpg"
        self.unrouted_ip = f"https://elsewhere-{tag()}.test/e.jpg"
        self.case_a = {
            "reference": f"OPENAPI-A-{tag()}",
            "category": {"uk_grade": "A", "classification": "A1"},
            "media_type": "image",
            "notes": "found by proactive search",
            "items": [
                item(f"https://cdn.hoster-de.test/a/{tag()}.jpg", ip="192.0.2.10"),
                item(f"https://files.hoster-de.test/b/{tag()}.jpg", full=False),
                item(f"https://img.hoster-fr.test/c/{tag()}.jpg", ip="203.0.113.5"),
                item(self.unrouted_domain),
                item(self.unrouted_ip, ip="198.51.100.7"),
            ],
        }
        key = {"Idempotency-Key": f"openapi-{tag()}"}
        receipt = c.call("POST", "/v1/cases", token=analyst, body=self.case_a, headers=key, expect=201).json()
        replay = c.call("POST", "/v1/cases", token=analyst, body=self.case_a, headers=key, expect=201).json()
        assert replay == receipt, "an Idempotency-Key replay did not return the first receipt"
        c.call("POST", "/v1/cases", token=analyst, body={**self.case_a, "reference": "OTHER"}, headers=key, expect=422)
        c.call("POST", "/v1/cases", token=analyst, body=self.case_a, headers={"Idempotency-Key": "k" * 256}, expect=400)
        self.receipt_a = receipt
        assert {u["url"] for u in receipt["unrouted"]} == {self.unrouted_domain, self.unrouted_ip}, receipt

        self.case_b = {
            "reference": f"OPENAPI-B-{tag()}",
            "category": {"uk_grade": "B", "classification": None},
            "media_type": "video",
            "notes": None,
            "items": [
                item(f"https://media.hoster-de.test/v/{tag()}.mp4", observed_at="2026-11-28T10:00:00+02:00"),
                item(f"https://media.hoster-de.test/w/{tag()}.mp4", ip="192.0.2.99", observed_at="2026-11-28T10:00:00.5Z", full=False),
                item(f"https://hoster-nl.test/x/{tag()}.mp4", full=False),
            ],
        }
        self.receipt_b = c.call("POST", "/v1/cases", token=self.admin, body=self.case_b, expect=201).json()

        c.call("POST", "/v1/cases", token=analyst, body={"reference": "R", "items": [{"url": "https://a.test/", "hashes": {"md5": "zz", "pdq_quality": 200}}]}, expect=422)
        c.call("POST", "/v1/cases", token=analyst, body={"items": [{"observed_at": "yesterday"}]}, expect=400)
        c.call("POST", "/v1/cases", token=analyst, raw=b"{\"reference\": ", expect=400)
        c.call("POST", "/v1/cases", token=analyst, raw=json.dumps(self.case_a).encode(), content_type="text/plain", expect=415)
        c.call("POST", "/v1/cases", token=self.de["token"], body=self.case_a, expect=403)
        c.call("POST", "/v1/cases", body=self.case_a, expect=401)

        # listing and reading
        page = c.call("GET", "/v1/cases", token=analyst, params={"limit": "1"}, expect=200).json()
        for _ in range(10):
            if not page["cases"]:
                break
            page = c.call("GET", "/v1/cases", token=analyst, params={"limit": "1", "after": page["next_cursor"]}, expect=200).json()
        assert not page["cases"], "the case cursor never reached the end"
        filtered = c.call(
            "GET", "/v1/cases", token=self.admin, expect=200,
            params={"reference": self.case_a["reference"], "unrouted": "true", "created_from": "2020-01-01T00:00:00Z", "created_to": "2099-01-01T00:00:00Z"},
        ).json()
        assert [case["id"] for case in filtered["cases"]] == [receipt["id"]], filtered
        c.call("GET", "/v1/cases", token=analyst, params={"after": "%%%"}, expect=400)
        c.call("GET", "/v1/cases", token=analyst, params={"limit": "501"}, expect=400)
        c.call("GET", "/v1/cases", token=self.de["token"], expect=403)
        c.call("GET", "/v1/cases", expect=401)
        case = c.call("GET", f"/v1/cases/{receipt['id']}", token=analyst, expect=200).json()
        assert case["notes"] == self.case_a["notes"]
        c.call("GET", f"/v1/cases/{self.receipt_b['id']}", token=self.admin, expect=200)
        c.call("GET", "/v1/cases/case_00000000000000000000000000", token=analyst, expect=404)
        c.call("GET", f"/v1/cases/{receipt['id']}", token=self.de["token"], expect=403)
        c.call("GET", f"/v1/cases/{receipt['id']}", expect=401)

        # routing the unrouted items later
        route = f"/v1/cases/{receipt['id']}/route"
        self.routed_nl = c.call("POST", route, token=analyst, body={"urls": [self.unrouted_domain], "partner_id": self.nl["id"]}, expect=201).json()
        c.call("POST", route, token=analyst, body={"url": self.unrouted_domain, "partner_id": self.nl["id"]}, expect=422)  # already carried
        c.call("POST", route, token=analyst, body={"url": self.unrouted_ip, "partner_id": "ptn_00000000000000000000000000"}, expect=422)
        c.call("POST", route, token=analyst, body={}, expect=422)
        c.call("POST", route, token=analyst, body={"url": 5, "partner_id": self.nl["id"]}, expect=400)
        c.call("POST", route, token=analyst, raw=b"{}", content_type="text/plain", expect=415)
        c.call("POST", route, token=self.de["token"], body={"url": self.unrouted_ip, "partner_id": self.de["id"]}, expect=403)
        c.call("POST", route, body={"url": self.unrouted_ip, "partner_id": self.de["id"]}, expect=401)
        c.call("POST", "/v1/cases/case_00000000000000000000000000/route", token=analyst, body={"url": self.unrouted_ip, "partner_id": self.de["id"]}, expect=404)
        self.routed_de = c.call("POST", route, token=self.admin, body={"url": self.unrouted_ip, "partner_id": self.de["id"]}, expect=201).json()
        case = c.call("GET", f"/v1/cases/{receipt['id']}", token=analyst, expect=200).json()
        assert all("notice_id" in i for i in case["items"]), case

    # notices --------------------------------------------------------------------------------------

    def notice_of(self, receipt: dict, partner: dict) -> str:
        ids = [n["id"] for n in receipt["notices"] if n["partner_id"] == partner["id"]]
        assert len(ids) == 1, (receipt, partner["id"])
        return ids[0]

    def notices(self) -> None:
        c = self.c
        de_token, fr_token = self.de["token"], self.fr["token"]
        self.n_de = self.notice_of(self.receipt_a, self.de)
        self.n_de_b = self.notice_of(self.receipt_b, self.de)
        self.n_fr = self.notice_of(self.receipt_a, self.fr)
        self.n_nl_b = self.notice_of(self.receipt_b, self.nl)

        # a partner polls with the cursor until the page is empty
        seen: list[str] = []
        page = c.call("GET", "/v1/notices", token=de_token, params={"limit": "1"}, expect=200).json()
        for _ in range(20):
            seen += [n["id"] for n in page["notices"]]
            if not page["notices"]:
                break
            page = c.call("GET", "/v1/notices", token=de_token, params={"limit": "1", "after": page["next_cursor"]}, expect=200).json()
        assert set(seen) == {self.n_de, self.n_de_b, self.routed_de["id"]}, seen
        # the lean listing: the same ids and cursor, each with its state and clock only
        lean = c.call("GET", "/v1/notices", token=de_token, params={"view": "lean", "limit": "100"}, expect=200).json()
        assert [n["id"] for n in lean["notices"]] == seen, (lean, seen)
        assert all(set(n) == {"id", "status", "sequence", "issued_at", "deadline_at"} for n in lean["notices"]), lean
        assert lean["next_cursor"] == c.call("GET", "/v1/notices", token=de_token, params={"limit": "100"}, expect=200).json()["next_cursor"]
        c.call("GET", "/v1/notices", token=de_token, params={"view": "lean", "after": lean["next_cursor"]}, expect=200)
        c.call("GET", "/v1/notices", token=de_token, params={"view": "thin"}, expect=400)
        c.call("GET", "/v1/notices", token=self.analyst, params={"limit": "500"}, expect=200)
        c.call("GET", "/v1/notices", token=self.admin, expect=200)
        c.call("GET", "/v1/notices", token=self.analyst, params={"after": "zzzz"}, expect=400)
        c.call("GET", "/v1/notices", token=self.analyst, params={"limit": "0"}, expect=400)
        c.call("GET", "/v1/notices", expect=401)

        one = f"/v1/notices/{self.n_de}"
        c.call("GET", one, token=de_token, expect=200)
        c.call("GET", one, token=self.analyst, expect=200)
        jose = c.call("GET", one, token=de_token, accept="application/jose", expect=200)
        assert jws_parts(jose.text.strip())[1]["id"] == self.n_de
        c.call("GET", one, token=de_token, accept="application/jwt", expect=200)
        text = c.call("GET", one, token=de_token, accept="text/plain", expect=200)
        assert text.text.strip(), "empty text notice"
        c.call("GET", one, token=de_token, accept="text/plain, application/json", params={"lang": "en"}, expect=200)
        c.call("GET", one, token=de_token, accept="*/*", expect=200)
        c.call("GET", one, token=de_token, accept="image/png", expect=406)
        c.call("GET", one, token=fr_token, expect=404)  # another partner's notice
        c.call("GET", one, expect=401)
        c.call("GET", "/v1/notices/ntc_00000000000000000000000000", token=self.analyst, expect=404)

        c.call("GET", f"{one}/xarf", token=de_token, expect=200)
        c.call("GET", f"{one}/xarf", token=self.admin, expect=200)
        c.call("GET", f"{one}/xarf", token=fr_token, expect=404)
        c.call("GET", f"{one}/xarf", expect=401)

    def answers(self) -> None:
        c = self.c
        de_token, fr_token, nl_token = self.de["token"], self.fr["token"], self.nl["token"]
        de = f"/v1/notices/{self.n_de}"
        urls = [i["url"] for i in self.case_a["items"] if ".hoster-de.test/" in i["url"]]

        # acknowledge, partial removal, full removal, then `unable` is a conflict
        assert c.call("POST", f"{de}/acknowledge", token=de_token, expect=200).json()["status"] == "acknowledged"
        c.call("POST", f"{de}/acknowledge", token=de_token, body={}, expect=200)
        c.call("POST", f"{de}/acknowledge", token=de_token, raw=b"[", expect=400)
        c.call("POST", f"{de}/acknowledge", token=de_token, raw=b"{}", content_type="text/plain", expect=415)
        c.call("POST", f"{de}/acknowledge", token=self.analyst, expect=403)
        c.call("POST", f"{de}/acknowledge", expect=401)
        c.call("POST", f"/v1/notices/{self.n_fr}/acknowledge", token=de_token, expect=404)
        partial = c.call("POST", f"{de}/removal", token=de_token, body={"action": "removed", "urls": urls[:1]}, expect=200).json()
        assert partial["status"] == "acknowledged", partial
        c.call("POST", f"{de}/removal", token=de_token, body={"action": "gone"}, expect=422)
        c.call("POST", f"{de}/removal", token=de_token, body={"action": "removed", "urls": ["https://not-in.notice.test/"]}, expect=422)
        c.call("POST", f"{de}/removal", token=de_token, body={"action": 1}, expect=400)
        c.call("POST", f"{de}/removal", token=de_token, raw=b'{"action": "removed"}', content_type="text/plain", expect=415)
        c.call("POST", f"{de}/removal", token=self.analyst, body={"action": "removed"}, expect=403)
        c.call("POST", f"{de}/removal", body={"action": "removed"}, expect=401)
        c.call("POST", f"/v1/notices/{self.n_fr}/removal", token=de_token, body={"action": "removed"}, expect=404)
        full = c.call("POST", f"{de}/removal", token=de_token, body={"action": "disabled", "removed_at": just_now_in_paris()}, expect=200).json()
        assert full["status"] == "removed", full
        c.call("POST", f"{de}/removal", token=de_token, body={"action": "disabled"}, expect=200)  # changes nothing
        c.call("POST", f"{de}/unable", token=de_token, body={"reason": "too late"}, expect=409)
        c.call("POST", f"{de}/dispute", token=de_token, body={"reason": "too late"}, expect=409)
        c.call("POST", f"{de}/withdraw", token=self.analyst, body={"reason": "too late"}, expect=409)

        # unable, dispute and withdraw on other notices
        fr = f"/v1/notices/{self.n_fr}"
        c.call("POST", f"{fr}/unable", token=fr_token, body={"reason": "  "}, expect=422)
        c.call("POST", f"{fr}/unable", token=fr_token, body={"reason": 5}, expect=400)
        c.call("POST", f"{fr}/unable", token=fr_token, raw=b'{"reason": "x"}', content_type="text/plain", expect=415)
        c.call("POST", f"{fr}/unable", token=self.analyst, body={"reason": "x"}, expect=403)
        c.call("POST", f"{fr}/unable", body={"reason": "x"}, expect=401)
        c.call("POST", f"{fr}/unable", token=de_token, body={"reason": "x"}, expect=404)
        c.call("POST", f"{fr}/unable", token=fr_token, body={"reason": "the customer left"}, expect=200)
        c.call("POST", f"{fr}/dispute", token=fr_token, body={"reason": ""}, expect=422)
        c.call("POST", f"{fr}/dispute", token=fr_token, body={"reason": []}, expect=400)
        c.call("POST", f"{fr}/dispute", token=fr_token, raw=b"{}", content_type="text/plain", expect=415)
        c.call("POST", f"{fr}/dispute", token=self.analyst, body={"reason": "x"}, expect=403)
        c.call("POST", f"{fr}/dispute", body={"reason": "x"}, expect=401)
        c.call("POST", f"{fr}/dispute", token=de_token, body={"reason": "x"}, expect=404)
        assert c.call("POST", f"{fr}/dispute", token=fr_token, body={"reason": "not what the notice says"}, expect=200).json()["status"] == "disputed"
        c.call("POST", f"{fr}/acknowledge", token=fr_token, expect=409)
        # a dispute decided: upheld by one analyst, appealed once, refused to the same analyst
        decision = f"{fr}/dispute/decision"
        c.call("POST", decision, token=fr_token, body={"decision": "uphold", "reason": "x"}, expect=403)
        c.call("POST", decision, token=self.analyst, body={"decision": "maybe", "reason": "x"}, expect=422)
        c.call("POST", decision, token=self.analyst, body={"decision": 1}, expect=400)
        c.call("POST", decision, token=self.analyst, raw=b"{}", content_type="text/plain", expect=415)
        c.call("POST", decision, body={"decision": "uphold", "reason": "x"}, expect=401)
        c.call("POST", f"{de}/dispute/decision", token=self.analyst, body={"decision": "uphold", "reason": "x"}, expect=409)
        upheld = c.call("POST", decision, token=self.analyst, body={"decision": "uphold", "reason": "the host is yours"}, expect=200)
        assert upheld.json()["status"] == "delivered", upheld.text
        c.call("POST", f"{fr}/dispute", token=fr_token, body={"reason": "again"}, expect=409)
        c.call("POST", f"{fr}/appeal", token=self.analyst, body={"reason": "x"}, expect=403)
        c.call("POST", f"{fr}/appeal", token=fr_token, body={"reason": ""}, expect=422)
        c.call("POST", f"{fr}/appeal", token=de_token, body={"reason": "x"}, expect=404)
        assert c.call("POST", f"{fr}/appeal", token=fr_token, body={"reason": "we moved"}, expect=200).json()["status"] == "disputed"
        c.call("POST", decision, token=self.analyst, body={"decision": "uphold", "reason": "still"}, expect=403)
        c.call("POST", f"{fr}/withdraw", token=fr_token, body={"reason": "x"}, expect=403)
        c.call("POST", f"{fr}/withdraw", token=self.analyst, body={"reason": " "}, expect=422)
        c.call("POST", f"{fr}/withdraw", token=self.analyst, body={"reason": None}, expect=422)
        c.call("POST", f"{fr}/withdraw", token=self.analyst, body={"reason": {}}, expect=400)
        c.call("POST", f"{fr}/withdraw", token=self.analyst, raw=b"{}", content_type="text/plain", expect=415)
        c.call("POST", f"{fr}/withdraw", body={"reason": "x"}, expect=401)
        c.call("POST", "/v1/notices/ntc_00000000000000000000000000/withdraw", token=self.analyst, body={"reason": "x"}, expect=404)
        assert c.call("POST", f"{fr}/withdraw", token=self.analyst, body={"reason": "reviewed: mistaken"}, expect=200).json()["status"] == "withdrawn"
        c.call("POST", f"{fr}/withdraw", token=self.second_admin, body={"reason": "again"}, expect=200)
        c.call("POST", f"{fr}/removal", token=fr_token, body={"action": "removed"}, expect=409)
        c.call("POST", f"{fr}/acknowledge", token=fr_token, expect=409)
        c.call("POST", f"{fr}/unable", token=fr_token, body={"reason": "x"}, expect=409)
        c.call("POST", f"{fr}/dispute", token=fr_token, body={"reason": "x"}, expect=409)

        # the notice routed later: read (delivered), then removal in the future is refused
        nl = f"/v1/notices/{self.routed_nl['id']}"
        c.call("GET", nl, token=nl_token, expect=200)
        c.call("POST", f"{nl}/removal", token=nl_token, body={"action": "removed", "removed_at": "2099-01-01T00:00:00Z"}, expect=422)
        c.call("POST", f"{nl}/removal", token=nl_token, body={"action": "removed", "removed_at": "soon"}, expect=400)
        c.call("POST", f"/v1/notices/{self.n_nl_b}/removal", token=nl_token, body={"action": "removed"}, expect=200)
        # answers in bulk: each with its own result; only the envelope is refused whole (none here changes a
        # notice: the removal figures below count them)
        bulk = c.call("POST", "/v1/notices/answers", token=nl_token, body={"answers": [
            {"notice_id": self.n_nl_b, "answer": "removal", "action": "removed"},
            {"notice_id": self.n_fr, "answer": "acknowledge"},
            {"notice_id": self.n_nl_b, "answer": "shrug"},
            {"notice_id": self.n_nl_b, "answer": "unable", "reason": "too late"},
        ]}, expect=200).json()
        assert [r["result"] for r in bulk["results"]] == ["already", "not_found", "invalid", "forbidden"], bulk
        c.call("POST", "/v1/notices/answers", token=nl_token, body={"answers": []}, expect=422)
        c.call("POST", "/v1/notices/answers", token=nl_token, body={"answers": {}}, expect=400)
        c.call("POST", "/v1/notices/answers", token=self.analyst, body={"answers": [{"notice_id": "x", "answer": "acknowledge"}]}, expect=403)
        # staff withdraw a notice that was never read
        c.call("POST", f"/v1/notices/{self.n_de_b}/withdraw", token=self.admin, body={"reason": "duplicate"}, expect=200)

    # notice filters, removal figures, scorecards, CSV rows -------------------------------------------

    def figures(self) -> None:
        c, admin, analyst = self.c, self.admin, self.analyst
        de, fr, nl = self.de, self.fr, self.nl
        removed = {self.n_de, self.n_nl_b}
        withdrawn = {self.n_fr, self.n_de_b}
        still_open = {self.routed_nl["id"], self.routed_de["id"]}

        # GET /v1/notices?status=&overdue= (deadlines are 24 h away here; see test_overdue_notices_... for late ones)
        def listed(token: str, **params: str) -> list[dict]:
            return c.call("GET", "/v1/notices", token=token, params=params, expect=200).json()["notices"]

        opened = listed(analyst, status="open")
        assert {n["id"] for n in opened} == still_open, opened
        assert all(0 < n["time_left_seconds"] <= 24 * 3600 for n in opened), opened
        assert {n["id"] for n in listed(admin, status="removed")} == removed
        assert all("time_left_seconds" not in n for n in listed(admin, status="removed"))
        assert {n["id"] for n in listed(admin, status="withdrawn")} == withdrawn
        assert {n["id"] for n in listed(de["token"], status="open")} == {self.routed_de["id"]}
        assert listed(admin, status="open", overdue="true") == []
        assert listed(de["token"], overdue="true") == []
        assert listed(admin, status="removed", overdue="true") == []  # overdue notices are open ones
        assert {n["id"] for n in listed(admin, overdue="false", limit="500")} == removed | withdrawn | still_open
        for params, name in (({"status": "lost"}, "status"), ({"status": "OPEN"}, "status"), ({"overdue": "maybe"}, "overdue"), ({"overdue": "1"}, "overdue")):
            problem = c.call("GET", "/v1/notices", token=analyst, params=params, expect=400).json()
            assert [p["name"] for p in problem.get("invalid_params", [])] == [name], problem

        # GET /v1/stats/removal, in one group and by each grouping
        stats = "/v1/stats/removal"
        counted = len(removed | still_open)
        everything = c.call("GET", stats, token=analyst, expect=200).json()
        assert everything.keys() == {"groups"}, everything  # from, to and group_by only when given
        [whole] = everything["groups"]
        assert (whole["key"], whole["label"]) == ("all", "All notices"), whole
        assert (whole["notices"], whole["acknowledged"], whole["removed"]) == (counted, 2, 2), whole  # withdrawn left out
        assert whole["removed_share"] == {"within_24h": 0.5, "within_72h": 0.5, "within_7d": 0.5}, whole
        assert whole["time_to_removal"]["count"] == 2 and whole["time_to_removal"]["median_seconds"] <= whole["time_to_removal"]["p90_seconds"], whole
        by_partner = c.call("GET", stats, token=admin, params={"group_by": "partner"}, expect=200).json()
        assert by_partner["group_by"] == "partner", by_partner
        groups = {g["key"]: g for g in by_partner["groups"]}
        assert list(groups) == sorted(groups) and set(groups) == {de["id"], fr["id"], nl["id"]}, groups
        assert groups[de["id"]]["label"] == de["name"] and (groups[de["id"]]["notices"], groups[de["id"]]["removed"]) == (2, 1)
        # the FR partner's one notice was withdrawn: a group with nothing counted, and no times or shares
        assert groups[fr["id"]]["notices"] == 0 and groups[fr["id"]]["removed_share"] == {}, groups[fr["id"]]
        assert groups[fr["id"]]["time_to_removal"] == {"count": 0}, groups[fr["id"]]
        by_country = c.call("GET", stats, token=analyst, params={"group_by": "jurisdiction"}, expect=200).json()
        assert [g["key"] for g in by_country["groups"]] == ["DE", "FR", "NL"], by_country
        window = {"from": "2020-01-01T00:00:00+01:00", "to": "2099-01-01T00:00:00Z"}
        by_month = c.call("GET", stats, token=analyst, params={"group_by": "month", **window}, expect=200).json()
        assert (by_month["from"], by_month["to"]) == ("2019-12-31T23:00:00.000Z", "2099-01-01T00:00:00.000Z"), by_month
        assert sum(g["notices"] for g in by_month["groups"]) == counted, by_month
        future = {"from": "2098-01-01T00:00:00Z"}
        assert c.call("GET", stats, token=analyst, params=future, expect=200).json()["groups"][0]["notices"] == 0
        assert c.call("GET", stats, token=analyst, params={**future, "group_by": "partner"}, expect=200).json()["groups"] == []
        for params, name in (
            ({"group_by": "planet"}, "group_by"),
            ({"from": "yesterday"}, "from"),
            ({"to": "next week"}, "to"),
            ({"from": "2027-02-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}, "to"),
            ({"from": "2027-01-01T00:00:00Z", "to": "2027-01-01T01:00:00+01:00"}, "to"),  # the same instant
        ):
            problem = c.call("GET", stats, token=analyst, params=params, expect=400).json()
            assert [p["name"] for p in problem.get("invalid_params", [])] == [name], (params, problem)
        c.call("GET", stats, token=de["token"], expect=403)
        c.call("GET", stats, token=de["token"], params={"group_by": "planet"}, expect=403)  # the role first
        c.call("GET", stats, expect=401)

        # GET /v1/stats/removal/notices: the rows behind the figures, withdrawn notices included
        rows = "/v1/stats/removal/notices"
        download = c.call("GET", rows, token=analyst, expect=200)
        assert download.headers["content-type"] == "text/csv; charset=utf-8", download.headers
        assert download.headers["content-disposition"] == 'attachment; filename="removal-notices.csv"', download.headers
        lines = download.content.decode("utf-8").split("\r\n")
        assert lines[-1] == "" and lines[0].startswith("notice_id,partner_id,"), lines
        assert {line.split(",")[0] for line in lines[1:-1]} == removed | withdrawn | still_open, lines
        de_rows = c.call("GET", rows, token=admin, params={"partner_id": de["id"], **window}, expect=200).text.split("\r\n")
        assert {line.split(",")[0] for line in de_rows[1:-1]} == {self.n_de, self.n_de_b, self.routed_de["id"]}, de_rows
        assert c.call("GET", rows, token=admin, params=future, expect=200).text.split("\r\n") == [lines[0], ""]
        for params, name in (({"partner_id": "ntc_x"}, "partner_id"), ({"from": "soon"}, "from"), ({"from": window["to"], "to": window["from"]}, "to")):
            problem = c.call("GET", rows, token=analyst, params=params, expect=400).json()
            assert [p["name"] for p in problem.get("invalid_params", [])] == [name], (params, problem)
        c.call("GET", rows, token=nl["token"], expect=403)
        c.call("GET", rows, expect=401)

        # GET /v1/partners/{partner_id}/scorecard: staff, or the partner itself
        own = c.call("GET", f"/v1/partners/{de['id']}/scorecard", token=de["token"], expect=200).json()
        assert (own["partner_id"], own["name"]) == (de["id"], de["name"]), own
        assert own["overall"] == {k: v for k, v in groups[de["id"]].items() if k not in {"key", "label"}}, (own, groups[de["id"]])
        assert sum(m["notices"] for m in own["by_month"]) == 2, own
        c.call("GET", f"/v1/partners/{fr['id']}/scorecard", token=de["token"], expect=404)  # another partner's
        assert c.call("GET", f"/v1/partners/{nl['id']}/scorecard", token=analyst, expect=200).json()["overall"]["removed"] == 1
        quiet = c.call("GET", f"/v1/partners/{self.police['id']}/scorecard", token=admin, expect=200).json()
        assert quiet["overall"]["notices"] == 0 and quiet["by_month"] == [], quiet
        c.call("GET", "/v1/partners/ptn_00000000000000000000000000/scorecard", token=admin, expect=404)
        c.call("GET", f"/v1/partners/{de['id']}/scorecard", expect=401)

        # GET /v1/reports/trusted-flagger: the Art. 22 report, JSON and CSV, the same counts as the figures
        report_path = "/v1/reports/trusted-flagger"
        report = c.call("GET", report_path, token=analyst, params=window, expect=200).json()
        assert report["total"]["notices"] == len(removed | withdrawn | still_open), report["total"]
        assert report["total"]["actions"]["withdrawn"] == len(withdrawn), report["total"]
        assert {r["key"] for r in report["by_country"]} == {"DE", "FR", "NL"}, report
        table = c.call("GET", report_path, token=admin, params={**window, "format": "csv"}, expect=200)
        assert table.headers["content-type"] == "text/csv; charset=utf-8", table.headers
        assert table.text.split("\r\n")[1].startswith(f"total,all,All notices,,{report['total']['notices']},"), table.text
        c.call("GET", report_path, token=analyst, expect=200)  # the last calendar year by default
        c.call("GET", report_path, token=analyst, params={"format": "pdf"}, expect=400)
        c.call("GET", report_path, token=analyst, params={"from": window["to"], "to": window["from"]}, expect=400)
        c.call("GET", report_path, token=de["token"], expect=403)
        c.call("GET", report_path, expect=401)

        # GET /v1/notices/{notice_id}/statement-of-reasons: the provider's draft, citing the notice
        draft = c.call("GET", f"/v1/notices/{self.n_de}/statement-of-reasons", token=de["token"], expect=200).json()
        assert draft["puid"] == self.n_de and self.n_de in draft["source_identity"], draft
        c.call("GET", f"/v1/notices/{self.n_de}/statement-of-reasons", token=analyst, expect=200)
        c.call("GET", f"/v1/notices/{self.n_de}/statement-of-reasons", token=fr["token"], expect=404)
        c.call("GET", f"/v1/notices/{self.n_de}/statement-of-reasons", expect=401)

    # the tamper-evident log ---------------------------------------------------------------------------

    def log(self) -> None:
        c, admin, analyst, de, fr = self.c, self.admin, self.analyst, self.de, self.fr
        key = c.call("GET", "/.well-known/takedown-log-key", expect=200).text
        assert key.count("+") >= 2 and key.endswith("\n"), key
        signed = c.call("POST", "/v1/log/checkpoint", token=analyst, expect=200).text
        c.call("POST", "/v1/log/checkpoint", token=de["token"], expect=403)
        c.call("POST", "/v1/log/checkpoint", expect=401)
        size = int(signed.split("\n")[1])
        assert size > 0, signed
        assert c.call("GET", "/log/checkpoint", expect=200).text == signed
        assert c.call("GET", "/v1/log/checkpoint", token=de["token"], expect=200).text == signed
        assert c.call("GET", "/v1/log/checkpoint", token=admin, params={"size": str(size)}, expect=200).text == signed
        c.call("GET", "/v1/log/checkpoint", token=admin, params={"size": str(size + 1000)}, expect=404)
        c.call("GET", "/v1/log/checkpoint", token=admin, params={"size": "0"}, expect=400)
        c.call("GET", "/v1/log/checkpoint", expect=401)
        page = c.call("GET", "/v1/log/entries", token=analyst, params={"start": "0", "end": "5"}, expect=200).json()
        assert [e["index"] for e in page["entries"]] == [0, 1, 2, 3, 4] and page["tree_size"] >= size, page
        c.call("GET", "/v1/log/entries", token=admin, params={"start": "5", "end": "2"}, expect=400)
        c.call("GET", "/v1/log/entries", token=admin, params={"start": "x"}, expect=400)
        c.call("GET", "/v1/log/entries", token=de["token"], expect=403)
        c.call("GET", "/v1/log/entries", expect=401)
        proof = c.call("GET", "/v1/log/consistency", token=de["token"], params={"first": "1", "second": str(size)}, expect=200).json()
        assert proof["first"] == 1 and proof["second"] == size, proof
        c.call("GET", "/v1/log/consistency", token=admin, params={"first": "2", "second": "1"}, expect=400)
        c.call("GET", "/v1/log/consistency", token=admin, params={"first": "1"}, expect=400)
        c.call("GET", "/v1/log/consistency", token=admin, params={"first": "1", "second": str(10**12)}, expect=400)
        c.call("GET", "/v1/log/consistency", expect=401)
        own = c.call("GET", f"/v1/notices/{self.n_de}/proof", token=de["token"], expect=200).json()
        assert own["entries"] and own["entries"][0]["entry"]["kind"] == "notice.issued", own
        c.call("GET", f"/v1/notices/{self.n_de}/proof", token=analyst, expect=200)
        c.call("GET", f"/v1/notices/{self.n_de}/proof", token=fr["token"], expect=404)
        c.call("GET", f"/v1/notices/{self.n_de}/proof", expect=401)
        hl = f"/v1/hash-lists/{self.hl['id']}/versions/1/proof"
        assert c.call("GET", hl, token=analyst, expect=200).json()["entries"][0]["entry"]["kind"] == "hash_list.version"
        c.call("GET", f"/v1/hash-lists/{self.hl['id']}/versions/999/proof", token=analyst, expect=404)
        c.call("GET", hl, expect=401)
        rp = f"/v1/referrals/{self.referral_id}/proof"
        assert c.call("GET", rp, token=admin, expect=200).json()["entries"][0]["entry"]["kind"] == "referral"
        c.call("GET", rp, token=de["token"], expect=403)
        c.call("GET", "/v1/referrals/rfl_" + "0" * 26 + "/proof", token=admin, expect=404)
        c.call("GET", rp, expect=401)
        tile = c.call("GET", "/log/tile/0/000" + (f".p/{size}" if size < 256 else ""), expect=200)
        assert len(tile.content) == 32 * min(size, 256)
        c.call("GET", "/log/tile/0/x000/000", expect=404)
        c.call("GET", "/log/tile/9/000", expect=404)

    # the outbox: deliveries, endpoints, webhook secrets ----------------------------------------------

    def deliveries_of(self, notice_id: str) -> list[dict]:
        return self.c.call("GET", "/v1/deliveries", token=self.analyst, params={"notice_id": notice_id}, expect=200).json()["deliveries"]

    def settled(self, notice_id: str, state: str, attempts: int) -> dict:
        """The one delivery of a notice once it is in `state` after `attempts` attempts (bounded wait)."""
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while True:
            deliveries = self.deliveries_of(notice_id)
            assert len(deliveries) == 1, deliveries
            delivery = deliveries[0]
            if delivery["state"] == state and delivery["attempts"] == attempts:
                return delivery
            if time.monotonic() > deadline:
                raise GatewayError(f"delivery of {notice_id} not {state} after {attempts} attempts within {DELIVERY_TIMEOUT}s: {delivery}")
            time.sleep(0.1)

    def outbox(self) -> None:
        c, admin, analyst = self.c, self.admin, self.analyst
        suffix = tag()

        # three partners with webhooks: nothing listens, the receiver answers 204, the receiver answers 410
        def hooked_partner(name: str, domain: str, url: str) -> dict:
            partner = c.call(
                "POST", "/v1/partners", token=admin, expect=201,
                body=partner_body(name=f"{name} {suffix}", locale="en", jurisdiction="NL", domains=[domain], delivery={"webhook_url": url}),
            ).json()
            assert partner["delivery"]["webhook_url"] == url and partner["webhook_secret"].startswith("whsec_"), partner
            return partner

        self.hooked = hooked_partner("Hooked", "hoster-hooked.test", DEAD_WEBHOOK)
        answering = hooked_partner("Answering", "hoster-answering.test", self.receiver.url("/ok"))
        gone = hooked_partner("Gone", "hoster-gone.test", self.receiver.url("/gone"))
        case = {
            "reference": f"OPENAPI-OUTBOX-{suffix}",
            "category": {"uk_grade": "C"},
            "media_type": "image",
            "items": [
                item(f"https://cdn.hoster-hooked.test/o/{tag()}.jpg"),
                item(f"https://cdn.hoster-answering.test/o/{tag()}.jpg", full=False),
                item(f"https://cdn.hoster-gone.test/o/{tag()}.jpg", full=False),
            ],
        }
        receipt = c.call("POST", "/v1/cases", token=analyst, body=case, expect=201).json()
        n_hooked, n_answering, n_gone = (self.notice_of(receipt, p) for p in (self.hooked, answering, gone))

        # the refused webhook dies after its one attempt; the others succeed or are gone
        dead = self.settled(n_hooked, "dead", 1)
        assert dead["partner_id"] == self.hooked["id"] and dead["event_type"] == "notice.issued", dead
        assert dead["endpoint"] == DEAD_WEBHOOK and dead["last_error"] and "last_status" not in dead, dead
        succeeded = self.settled(n_answering, "succeeded", 1)
        assert succeeded["last_status"] == 204 and "last_error" not in succeeded, succeeded
        gone_delivery = self.settled(n_gone, "dead", 1)
        assert gone_delivery["last_status"] == 410, gone_delivery
        assert ("/ok", succeeded["event_id"]) in self.receiver.server.received, self.receiver.server.received  # type: ignore[attr-defined]

        # listing and filters
        everything = c.call("GET", "/v1/deliveries", token=admin, expect=200).json()
        assert {dead["id"], succeeded["id"], gone_delivery["id"]} <= {d["id"] for d in everything["deliveries"]}, everything
        assert all("attempt_log" not in d for d in everything["deliveries"])
        page = c.call("GET", "/v1/deliveries", token=analyst, params={"limit": "1"}, expect=200).json()
        for _ in range(len(everything["deliveries"]) + 1):
            if not page["deliveries"]:
                break
            page = c.call("GET", "/v1/deliveries", token=analyst, params={"limit": "1", "after": page["next_cursor"]}, expect=200).json()
        assert not page["deliveries"], "the delivery cursor never reached the end"
        mine = c.call("GET", "/v1/deliveries", token=analyst, params={"partner_id": self.hooked["id"], "state": "dead"}, expect=200).json()
        assert [d["id"] for d in mine["deliveries"]] == [dead["id"]], mine
        c.call("GET", "/v1/deliveries", token=analyst, params={"notice_id": "nonsense"}, expect=400)
        c.call("GET", "/v1/deliveries", token=analyst, params={"partner_id": "ntc_x"}, expect=400)
        c.call("GET", "/v1/deliveries", token=analyst, params={"state": "lost"}, expect=400)
        c.call("GET", "/v1/deliveries", token=analyst, params={"after": "%%%"}, expect=400)
        c.call("GET", "/v1/deliveries", token=analyst, params={"limit": "501"}, expect=400)
        theirs = c.call("GET", "/v1/deliveries", token=self.hooked["token"], expect=200).json()["deliveries"]
        assert theirs and all(d["partner_id"] == self.hooked["id"] for d in theirs), theirs
        c.call("GET", "/v1/deliveries", token=self.hooked["token"], params={"partner_id": self.de["id"]}, expect=404)
        c.call("GET", "/v1/deliveries", expect=401)

        # one delivery with its attempts
        one = f"/v1/deliveries/{dead['id']}"
        shown = c.call("GET", one, token=admin, expect=200).json()
        assert [a["number"] for a in shown["attempt_log"]] == [1] and shown["attempt_log"][0]["error"], shown
        assert shown["event_id"].startswith("msg_"), shown
        ok = c.call("GET", f"/v1/deliveries/{succeeded['id']}", token=analyst, expect=200).json()
        assert ok["attempt_log"][0]["status_code"] == 204, ok
        assert c.call("GET", one, token=self.hooked["token"], expect=200).json()["id"] == dead["id"]  # its own
        c.call("GET", one, token=self.de["token"], expect=404)  # another partner's
        c.call("GET", one, expect=401)
        c.call("GET", "/v1/deliveries/dlv_00000000000000000000000000", token=analyst, expect=404)
        c.call("GET", "/v1/deliveries/nonsense", token=analyst, expect=404)

        # retry: a dead delivery is due again and, refused again, dies after its second attempt
        retried = c.call("POST", f"{one}/retry", token=analyst, expect=200).json()
        assert retried["id"] == dead["id"] and retried["state"] == "failed", retried  # due now
        assert "attempt_log" not in retried, retried
        again = self.settled(n_hooked, "dead", 2)
        assert again["event_id"] == dead["event_id"], (again, dead)
        assert len(c.call("GET", one, token=analyst, expect=200).json()["attempt_log"]) == 2
        c.call("POST", f"/v1/deliveries/{succeeded['id']}/retry", token=admin, expect=409)  # only failed or dead ones
        c.call("POST", f"{one}/retry", token=self.hooked["token"], expect=403)
        c.call("POST", f"{one}/retry", expect=401)
        c.call("POST", "/v1/deliveries/dlv_00000000000000000000000000/retry", token=analyst, expect=404)

        # endpoint health
        hooked_endpoints = f"/v1/partners/{self.hooked['id']}/endpoints"
        states = c.call("GET", hooked_endpoints, token=analyst, expect=200).json()["endpoints"]
        assert [(e["endpoint"], "failing_since" in e) for e in states] == [(DEAD_WEBHOOK, True)], states
        answering_states = c.call("GET", f"/v1/partners/{answering['id']}/endpoints", token=admin, expect=200).json()["endpoints"]
        assert len(answering_states) == 1 and "last_success_at" in answering_states[0], answering_states
        gone_endpoints = f"/v1/partners/{gone['id']}/endpoints"
        assert "disabled_at" in c.call("GET", gone_endpoints, token=analyst, expect=200).json()["endpoints"][0]
        assert c.call("GET", f"/v1/partners/{self.nl['id']}/endpoints", token=analyst, expect=200).json()["endpoints"] == []
        c.call("GET", hooked_endpoints, token=self.hooked["token"], expect=200)  # its own
        c.call("GET", hooked_endpoints, token=self.de["token"], expect=404)
        c.call("GET", hooked_endpoints, expect=401)
        c.call("GET", "/v1/partners/ptn_00000000000000000000000000/endpoints", token=analyst, expect=404)

        # recover: the deliveries created in a window are due again
        recover = f"{hooked_endpoints}/recover"
        now = datetime.now(timezone(timedelta(hours=2)))
        window = {"since": (now - timedelta(hours=1)).isoformat(timespec="seconds"), "until": (now + timedelta(hours=1)).isoformat()}
        assert c.call("POST", recover, token=analyst, body=window, expect=200).json() == {"requeued": 1}
        self.settled(n_hooked, "dead", 3)
        past = {"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00.000Z", "note": "ignored"}
        assert c.call("POST", recover, token=admin, body=past, expect=200).json() == {"requeued": 0}
        c.call("POST", recover, token=analyst, body={"since": window["until"], "until": window["since"]}, expect=422)
        c.call("POST", recover, token=analyst, body={"since": window["since"], "until": window["since"]}, expect=422)
        c.call("POST", recover, token=analyst, body={}, expect=422)
        c.call("POST", recover, token=analyst, body={"since": window["since"], "until": None}, expect=422)
        c.call("POST", recover, token=analyst, body={"since": "yesterday", "until": window["until"]}, expect=400)
        c.call("POST", recover, token=analyst, raw=b"", expect=400)
        c.call("POST", recover, token=analyst, raw=json.dumps(window).encode(), content_type="text/plain", expect=415)
        c.call("POST", recover, token=self.hooked["token"], body=window, expect=403)
        c.call("POST", recover, body=window, expect=401)
        c.call("POST", "/v1/partners/ptn_00000000000000000000000000/endpoints/recover", token=analyst, body=window, expect=404)

        # resume: the endpoint disabled by 410 is enabled again; a merely failing one is left alone
        assert c.call("POST", f"{gone_endpoints}/resume", token=analyst, expect=200).json() == {"resumed": 1}
        assert "disabled_at" not in c.call("GET", gone_endpoints, token=analyst, expect=200).json()["endpoints"][0]
        assert c.call("POST", f"{hooked_endpoints}/resume", token=admin, expect=200).json() == {"resumed": 0}
        c.call("POST", f"{hooked_endpoints}/resume", token=self.hooked["token"], expect=403)
        c.call("POST", f"{hooked_endpoints}/resume", expect=401)
        c.call("POST", "/v1/partners/ptn_00000000000000000000000000/endpoints/resume", token=analyst, expect=404)

        # webhook secrets: rotation, and a new one with a new webhook URL
        rotate = f"/v1/partners/{self.hooked['id']}/webhook-secret"
        rotated = c.call("POST", rotate, token=admin, expect=201).json()
        assert rotated["partner_id"] == self.hooked["id"] and rotated["webhook_secret"] != self.hooked["webhook_secret"], rotated
        c.call("POST", f"/v1/partners/{self.nl['id']}/webhook-secret", token=admin, expect=409)  # no webhook_url
        c.call("POST", rotate, token=analyst, expect=403)
        c.call("POST", rotate, token=self.de["token"], expect=404)  # another partner's
        assert c.call("POST", rotate, token=self.hooked["token"], expect=201).json()["webhook_secret"].startswith("whsec_")
        c.call("POST", rotate, expect=401)
        c.call("POST", "/v1/partners/ptn_00000000000000000000000000/webhook-secret", token=admin, expect=404)
        moved = c.call("PATCH", f"/v1/partners/{self.hooked['id']}", token=admin, body={"delivery": {"webhook_url": DEAD_WEBHOOK + "/v2"}}, expect=200).json()
        assert moved["delivery"]["webhook_url"] == DEAD_WEBHOOK + "/v2" and moved["webhook_secret"] not in {rotated["webhook_secret"], self.hooked["webhook_secret"]}, moved
        same = c.call("PATCH", f"/v1/partners/{self.hooked['id']}", token=admin, body={"delivery": {"webhook_url": DEAD_WEBHOOK + "/v2"}}, expect=200).json()
        assert "webhook_secret" not in same, same  # the same URL again starts no secret
        renamed = c.call("PATCH", f"/v1/partners/{answering['id']}", token=admin, body={"name": f"Answering again {suffix}"}, expect=200).json()
        assert "webhook_secret" not in renamed, renamed

        # self-service: the partner moves its webhook, used only once a signed test event is accepted
        hook = f"/v1/partners/{self.hooked['id']}/webhook"
        hooked_token = self.hooked["token"]
        c.call("POST", hook, token=hooked_token, body={"webhook_url": DEAD_WEBHOOK + "/v3"}, expect=422)  # nothing listens
        c.call("POST", hook, token=hooked_token, body={"webhook_url": 5}, expect=400)
        c.call("POST", hook, token=hooked_token, raw=b"{}", content_type="text/plain", expect=415)
        c.call("POST", hook, token=analyst, body={"webhook_url": DEAD_WEBHOOK}, expect=403)
        c.call("POST", hook, token=self.de["token"], body={"webhook_url": DEAD_WEBHOOK}, expect=404)
        c.call("POST", hook, body={"webhook_url": DEAD_WEBHOOK}, expect=401)
        c.call("POST", f"/v1/partners/{self.nl['id']}/webhook", token=self.nl["token"], body={"webhook_url": DEAD_WEBHOOK}, expect=409)
        probed = c.call("POST", hook, token=hooked_token, body={"webhook_url": self.receiver.url("/ok")}, expect=200).json()
        assert probed["delivery"]["webhook_url"] == self.receiver.url("/ok") and probed["test_status"] == 204, probed
        contact = c.call("PATCH", f"/v1/partners/{self.hooked['id']}", token=hooked_token, body={"contact_email": "desk@hooked.test"}, expect=200).json()
        assert contact["contact_email"] == "desk@hooked.test", contact
        c.call("PATCH", f"/v1/partners/{self.hooked['id']}", token=hooked_token, body={"name": "mine"}, expect=403)
        c.call("PATCH", f"/v1/partners/{self.de['id']}", token=hooked_token, body={"contact_email": "x@y.test"}, expect=404)

        metrics = c.call("GET", "/metrics", token=METRICS_TOKEN, expect=200)
        assert "takedown_outbox_depth" in metrics.text, metrics.text[:2000]

    # hash lists: definitions, entries, feedback, the change feed, versions, exports, downloads -------

    def hash_lists(self) -> None:
        self.hash_list_definitions()
        self.hash_list_entries()
        self.hash_list_feedback()
        self.hash_list_feed()
        self.hash_list_versions()
        self.hash_list_resync()
        self.hash_list_ncmec()  # after the versions: its pages are downloads too, which the versions step counts
        self.hash_list_sources()
        self.url_list()

    def url_list(self) -> None:
        """A URL list on the same routes: created, taken in from the open notices, curated, published, read."""
        c, admin, analyst, de = self.c, self.admin, self.analyst, self.de
        created = c.call("POST", "/v1/hash-lists", token=admin, expect=201, body={
            "name": f"Block list {tag()}", "kind": "urls", "audience": "hosting_provider",
            "include": {"uk_grades": ["A", "B"]}, "partners": [de["id"]]}).json()
        assert created["kind"] == "urls" and created["hash_types"] == [] and created["entry_count"] >= 1, created
        ul = f"/v1/hash-lists/{created['id']}"
        for body, name in (({"hash_types": ["md5"]}, "hash_types"), ({"kind": "links"}, "kind")):
            bad = {"name": f"Bad {tag()}", "kind": "urls", "audience": "hosting_provider", "include": {"uk_grades": ["A"]}, **body}
            problem = c.call("POST", "/v1/hash-lists", token=admin, body=bad, expect=422).json()
            assert [p["name"] for p in problem["invalid_params"]] == [name], problem
        assert [p["name"] for p in c.call("PATCH", ul, token=admin, body={"kind": "hashes"}, expect=422).json()["invalid_params"]] == ["kind"]
        [added] = c.call("POST", f"{ul}/entries", token=analyst, expect=201, body={"entries": [
            {"url": "https://Mirror.example.com/a,b.jpg", "media_type": "image", "classification": {"uk_grade": "B"}}]}).json()["entries"]
        assert added["url"] == "https://mirror.example.com/a,b.jpg" and added["hashes"] == {}, added
        problem = c.call("POST", f"{ul}/entries", token=analyst, expect=422, body={"entries": [
            {"url": "https://example.com/x", "media_type": "image", "classification": {"uk_grade": "A"}, "hashes": {"md5": secrets.token_hex(16)}}]}).json()
        assert [p["name"] for p in problem["invalid_params"]] == ["entries[0].hashes"], problem
        assert c.call("GET", f"{ul}/entries/{added['id']}", token=analyst, expect=200).json() == added
        _, records = self.feed(created["id"], de["token"], limit="1000")
        assert records and all(r["hashes"] == {} and r["url"].startswith("http") for r in records), records
        published = c.call("POST", f"{ul}/publish", token=analyst, expect=201).json()["manifest"]
        assert published["kind"] == "urls" and [(e["format"], e["hash"]) for e in published["exports"]] == [
            ("ndjson", None), ("csv", None), ("text", None)], published
        for export in published["exports"]:
            got = c.call("GET", f"{ul}/versions/1/export", token=de["token"], params={"format": export["format"]}, expect=200)
            assert hashlib.sha256(got.content).hexdigest() == export["sha256"], export
        c.call("GET", f"{ul}/versions/1/export", token=de["token"], params={"format": "text", "hash": "md5"}, expect=400)
        gone = c.call("DELETE", f"{ul}/entries/{added['id']}", token=analyst, params={"reason": "gone"}, expect=200).json()
        assert gone["status"] == "deleted" and gone["deletion_reason"] == "gone" and gone["url"] == added["url"], gone
        c.call("POST", f"{ul}/sources", token=admin, expect=409, body={
            "name": "x", "base_url": "https://peer.example.com/ncmec", "username": "u", "password": "p", "uk_grade": "A"})

    def feed(self, list_id: str, token: str, **params: str) -> tuple[requests.Response, list[dict]]:
        """One page of a list's change feed and its records."""
        page = self.c.call("GET", f"/v1/hash-lists/{list_id}/changes", token=token, params=params or None, expect=200)
        return page, [json.loads(line) for line in page.content.decode("utf-8").splitlines()]

    def hash_list_definitions(self) -> None:
        c, admin, analyst = self.c, self.admin, self.analyst
        de, nl, police = self.de, self.nl, self.police
        suffix = tag()
        # filled at once from the stored cases: the five items of case A (grade A) and the three of case B (grade B)
        self.hl = c.call(
            "POST", "/v1/hash-lists", token=admin, expect=201,
            body={"name": f"Providers {suffix}", "audience": "hosting_provider", "hash_types": ["sha256", "pdq", "md5", "sha256"],
                  "include": {"uk_grades": ["B", "A", "A"]}, "partners": [de["id"]]},
        ).json()
        assert self.hl["hash_types"] == ["md5", "sha256", "pdq"] and self.hl["include"] == {"uk_grades": ["A", "B"]}, self.hl
        assert (self.hl["entry_count"], self.hl["last_seq"], self.hl["partners"]) == (8, 8, [de["id"]]), self.hl
        assert "latest_version" not in self.hl, self.hl
        # the outbox case (grade C) has one item with a SHA-1; no hosting provider may be granted this list
        self.le_list = c.call(
            "POST", "/v1/hash-lists", token=admin, expect=201,
            body={"name": f"Police {suffix}", "audience": "law_enforcement", "hash_types": ["sha1"],
                  "include": {"uk_grades": ["C"]}, "partners": [police["id"]], "note": "ignored"},
        ).json()
        assert self.le_list["entry_count"] == 1, self.le_list

        problem = c.call("POST", "/v1/hash-lists", token=admin, body={}, expect=422).json()
        assert {"name", "audience", "hash_types", "include.uk_grades"} <= {p["name"] for p in problem["invalid_params"]}, problem
        taken = {"name": self.hl["name"], "audience": "law_enforcement", "hash_types": ["md5"], "include": {"uk_grades": ["A"]}}
        assert [p["name"] for p in c.call("POST", "/v1/hash-lists", token=admin, body=taken, expect=422).json()["invalid_params"]] == ["name"]
        wrong_kind = {"name": f"Wrong {suffix}", "audience": "hosting_provider", "hash_types": ["md5"], "include": {"uk_grades": ["A"]}, "partners": [police["id"]]}
        assert [p["name"] for p in c.call("POST", "/v1/hash-lists", token=admin, body=wrong_kind, expect=422).json()["invalid_params"]] == ["partners[0]"]
        c.call("POST", "/v1/hash-lists", token=admin, body={**wrong_kind, "partners": [], "hash_types": ["crc32"], "include": {"uk_grades": []}}, expect=422)
        c.call("POST", "/v1/hash-lists", token=admin, body={"name": 5}, expect=400)
        c.call("POST", "/v1/hash-lists", token=admin, raw=b'{"name":', expect=400)
        c.call("POST", "/v1/hash-lists", token=admin, raw=json.dumps(taken).encode(), content_type="text/plain", expect=415)
        c.call("POST", "/v1/hash-lists", token=analyst, body=taken, expect=403)
        c.call("POST", "/v1/hash-lists", token=de["token"], body=taken, expect=403)
        c.call("POST", "/v1/hash-lists", body=taken, expect=401)

        # staff see every list with its grants; a partner only the lists granted to it, without them
        everything = c.call("GET", "/v1/hash-lists", token=analyst, expect=200).json()["hash_lists"]
        assert [(l["id"], l["partners"]) for l in everything] == [(self.hl["id"], [de["id"]]), (self.le_list["id"], [police["id"]])], everything
        [mine] = c.call("GET", "/v1/hash-lists", token=de["token"], expect=200).json()["hash_lists"]
        assert mine["id"] == self.hl["id"] and "partners" not in mine, mine
        assert [l["id"] for l in c.call("GET", "/v1/hash-lists", token=police["token"], expect=200).json()["hash_lists"]] == [self.le_list["id"]]
        assert c.call("GET", "/v1/hash-lists", token=nl["token"], expect=200).json()["hash_lists"] == []
        c.call("GET", "/v1/hash-lists", expect=401)

        one = f"/v1/hash-lists/{self.hl['id']}"
        assert "partners" not in c.call("GET", one, token=de["token"], expect=200).json()
        assert c.call("GET", one, token=admin, expect=200).json()["partners"] == [de["id"]]
        c.call("GET", one, token=nl["token"], expect=404)  # not granted: it does not exist for them
        c.call("GET", one, token=police["token"], expect=404)
        c.call("GET", "/v1/hash-lists/hl_00000000000000000000000000", token=analyst, expect=404)
        c.call("GET", "/v1/hash-lists/nonsense", token=analyst, expect=404)
        c.call("GET", one, expect=401)

        # PATCH renames and replaces the grants; what the list carries and takes is fixed
        renamed = c.call("PATCH", one, token=admin, body={"name": f" Providers renamed {suffix} ", "partners": [nl["id"], de["id"], nl["id"]]}, expect=200).json()
        assert renamed["name"] == f"Providers renamed {suffix}" and sorted(renamed["partners"]) == sorted([de["id"], nl["id"]]), renamed
        self.hl = c.call("PATCH", one, token=admin, body={"name": None, "audience": None}, expect=200).json()  # null is absent
        assert self.hl["name"] == renamed["name"] and self.hl["updated_at"] >= renamed["updated_at"], self.hl
        assert c.call("GET", one, token=nl["token"], expect=200).json()["id"] == self.hl["id"]
        for fixed in ({"audience": "law_enforcement"}, {"hash_types": ["md5"]}, {"include": {"uk_grades": ["C"]}}):
            problem = c.call("PATCH", one, token=admin, body=fixed, expect=422).json()
            assert [p["name"] for p in problem["invalid_params"]] == list(fixed), problem
        c.call("PATCH", one, token=admin, body={"partners": [police["id"]]}, expect=422)
        c.call("PATCH", one, token=admin, body={"partners": ["ntc_x"]}, expect=422)
        c.call("PATCH", one, token=admin, body={"name": self.le_list["name"]}, expect=422)
        c.call("PATCH", one, token=admin, raw=b"", expect=400)
        c.call("PATCH", one, token=admin, body={"name": ["x"]}, expect=400)
        c.call("PATCH", one, token=admin, raw=b'{"name": "x"}', content_type="text/plain", expect=415)
        c.call("PATCH", one, token=analyst, body={"name": "x"}, expect=403)
        c.call("PATCH", one, token=de["token"], body={"name": "x"}, expect=403)
        c.call("PATCH", one, body={"name": "x"}, expect=401)
        c.call("PATCH", "/v1/hash-lists/hl_00000000000000000000000000", token=admin, body={"name": "x"}, expect=404)

    def hash_list_entries(self) -> None:
        c, analyst, de = self.c, self.analyst, self.de
        hl = f"/v1/hash-lists/{self.hl['id']}"
        self.hl_image = {"sha256": secrets.token_hex(32), "md5": secrets.token_hex(16), "sha1": secrets.token_hex(20), "pdq": secrets.token_hex(32),
                         "pdq_quality": 80, "photodna": base64.b64encode(secrets.token_bytes(144)).decode("ascii")}
        self.hl_video_md5 = secrets.token_hex(16)
        entries = [
            {"media_type": "image", "hashes": self.hl_image, "classification": {"uk_grade": "A", "classification": "A1"}},
            {"media_type": "video", "hashes": {"md5": self.hl_video_md5.upper(), "sha256": None}, "classification": {"uk_grade": "B", "classification": None}},
        ]
        image, video = c.call("POST", f"{hl}/entries", token=analyst, body={"entries": entries}, expect=201).json()["entries"]
        # only the list's hash types are kept (no SHA-1, no PhotoDNA), lower case; by hand means no case
        assert image["hashes"] == {k: v for k, v in self.hl_image.items() if k in {"sha256", "md5", "pdq", "pdq_quality"}}, image
        assert (image["number"], image["seq"], video["number"], video["seq"]) == (9, 9, 10, 10), (image, video)
        assert video["hashes"] == {"md5": self.hl_video_md5} and "case_id" not in video and video["status"] == "live", video
        self.hl_entry, self.hl_video = image["id"], video["id"]
        again = c.call("POST", f"{hl}/entries", token=self.admin, body={"entries": entries[:1]}, expect=201).json()["entries"]
        assert again == [image], again  # a live file is returned as it is

        def bad_entries(body: Any) -> list[str]:
            return [p["name"] for p in c.call("POST", f"{hl}/entries", token=analyst, body=body, expect=422).json()["invalid_params"]]

        ungraded = {"media_type": "image", "hashes": {"sha256": secrets.token_hex(32)}, "classification": {"uk_grade": "C"}}
        assert bad_entries({"entries": [ungraded]}) == ["entries[0].classification.uk_grade"]
        assert bad_entries({"entries": [{**ungraded, "hashes": {"sha1": secrets.token_hex(20)}, "classification": {"uk_grade": "A"}}]}) == ["entries[0].hashes"]
        assert bad_entries({"entries": []}) == ["entries"]
        assert bad_entries({}) == ["entries"]
        assert set(bad_entries({"entries": [{}]})) >= {"entries[0].media_type", "entries[0].classification.uk_grade", "entries[0].hashes"}
        c.call("POST", f"{hl}/entries", token=analyst, body={"entries": "x"}, expect=400)
        c.call("POST", f"{hl}/entries", token=analyst, raw=b"", expect=400)
        c.call("POST", f"{hl}/entries", token=analyst, raw=json.dumps({"entries": entries}).encode(), content_type="text/plain", expect=415)
        c.call("POST", f"{hl}/entries", token=de["token"], body={"entries": entries}, expect=403)
        c.call("POST", f"{hl}/entries", body={"entries": entries}, expect=401)
        c.call("POST", "/v1/hash-lists/hl_00000000000000000000000000/entries", token=analyst, body={"entries": entries}, expect=404)

        # the entries from case A come first; staff read them with the case
        _, records = self.feed(self.hl["id"], analyst)
        self.hl_case_entries = [r["entry_id"] for r in records[:8]]
        first = c.call("GET", f"{hl}/entries/{self.hl_case_entries[0]}", token=analyst, expect=200).json()
        assert first["case_id"] == self.receipt_a["id"] and first["classification"] == {"uk_grade": "A", "classification": "A1"}, first
        c.call("GET", f"{hl}/entries/{self.hl_entry}", token=self.admin, expect=200)
        c.call("GET", f"{hl}/entries/{self.hl_entry}", token=de["token"], expect=403)
        c.call("GET", f"{hl}/entries/{self.hl_entry}", expect=401)
        c.call("GET", f"{hl}/entries/hle_00000000000000000000000000", token=analyst, expect=404)
        c.call("GET", f"{hl}/entries/nonsense", token=analyst, expect=404)
        c.call("GET", f"/v1/hash-lists/{self.le_list['id']}/entries/{self.hl_entry}", token=analyst, expect=404)  # another list's

        # reclassification: a new change; the same class again changes nothing; a grade the list does not take deletes
        entry = f"{hl}/entries/{self.hl_entry}"
        moved = c.call("PATCH", entry, token=analyst, body={"classification": {"uk_grade": "B", "classification": "B2"}}, expect=200).json()
        assert moved["status"] == "live" and moved["seq"] == 11 and moved["classification"] == {"uk_grade": "B", "classification": "B2"}, moved
        assert c.call("PATCH", entry, token=self.admin, body={"classification": {"uk_grade": "B", "classification": "B2"}}, expect=200).json() == moved
        out = c.call("PATCH", f"{hl}/entries/{self.hl_video}", token=analyst, body={"classification": {"uk_grade": "C"}}, expect=200).json()
        assert (out["status"], out["deletion_reason"], out["seq"]) == ("deleted", "out_of_scope", 12) and "deleted_at" in out, out
        c.call("PATCH", entry, token=analyst, body={"classification": {"uk_grade": "D"}}, expect=422)
        c.call("PATCH", entry, token=analyst, body={}, expect=422)
        c.call("PATCH", entry, token=analyst, body={"classification": 1}, expect=400)
        c.call("PATCH", entry, token=analyst, raw=b"", expect=400)
        c.call("PATCH", entry, token=analyst, raw=b'{"classification": {"uk_grade": "A"}}', content_type="text/plain", expect=415)
        c.call("PATCH", entry, token=de["token"], body={"classification": {"uk_grade": "A"}}, expect=403)
        c.call("PATCH", entry, body={"classification": {"uk_grade": "A"}}, expect=401)
        c.call("PATCH", f"{hl}/entries/hle_00000000000000000000000000", token=analyst, body={"classification": {"uk_grade": "A"}}, expect=404)

        # a deleted file comes back when staff add it again
        [back] = c.call("POST", f"{hl}/entries", token=analyst, body={"entries": [{**entries[1], "classification": {"uk_grade": "B"}}]}, expect=201).json()["entries"]
        assert (back["id"], back["status"], back["seq"]) == (self.hl_video, "live", 13) and "deletion_reason" not in back, back

        # deletion leaves a tombstone with the reason
        gone = f"{hl}/entries/{self.hl_case_entries[1]}"
        deleted = c.call("DELETE", gone, token=analyst, params={"reason": "duplicate"}, expect=200).json()
        assert (deleted["status"], deleted["deletion_reason"], deleted["seq"]) == ("deleted", "duplicate", 14), deleted
        assert c.call("GET", gone, token=self.admin, expect=200).json() == deleted
        for params in ({}, {"reason": "mistake"}):
            problem = c.call("DELETE", entry, token=analyst, params=params or None, expect=422).json()
            assert [p["name"] for p in problem["invalid_params"]] == ["reason"], problem
        c.call("DELETE", entry, token=de["token"], params={"reason": "legal"}, expect=403)
        c.call("DELETE", entry, params={"reason": "legal"}, expect=401)
        c.call("DELETE", f"{hl}/entries/hle_00000000000000000000000000", token=analyst, params={"reason": "legal"}, expect=404)

    def hash_list_feedback(self) -> None:
        c, analyst, de, nl = self.c, self.analyst, self.de, self.nl
        hl = f"/v1/hash-lists/{self.hl['id']}"
        target, other = self.hl_case_entries[2], self.hl_case_entries[3]
        mine = c.call("POST", f"{hl}/entries/{target}/feedback", token=de["token"], body={"verdict": "false_positive", "comment": "  not on our service  "}, expect=201).json()
        assert (mine["partner_id"], mine["comment"], mine["status"]) == (de["id"], "not on our service", "open"), mine
        theirs = c.call("POST", f"{hl}/entries/{target}/feedback", token=nl["token"], body={"verdict": "false_positive"}, expect=201).json()
        staff = c.call("POST", f"{hl}/entries/{self.hl_entry}/feedback", token=analyst, body={"verdict": "confirmed", "comment": None}, expect=201).json()
        assert "partner_id" not in staff and "comment" not in staff, staff
        kept = c.call("POST", f"{hl}/entries/{other}/feedback", token=de["token"], body={"verdict": "confirmed"}, expect=201).json()
        self.hl_open_feedback = staff["id"]

        feedback = f"{hl}/entries/{other}/feedback"
        c.call("POST", feedback, token=de["token"], body={"verdict": "maybe"}, expect=422)
        c.call("POST", feedback, token=de["token"], body={}, expect=422)
        c.call("POST", feedback, token=de["token"], body={"verdict": "confirmed", "comment": "  "}, expect=422)
        c.call("POST", feedback, token=de["token"], body={"verdict": 1}, expect=400)
        c.call("POST", feedback, token=de["token"], raw=b"", expect=400)
        c.call("POST", feedback, token=de["token"], raw=b'{"verdict": "confirmed"}', content_type="text/plain", expect=415)
        c.call("POST", feedback, body={"verdict": "confirmed"}, expect=401)
        c.call("POST", feedback, token=self.police["token"], body={"verdict": "confirmed"}, expect=404)  # not granted
        c.call("POST", f"{hl}/entries/{self.hl_case_entries[1]}/feedback", token=de["token"], body={"verdict": "confirmed"}, expect=409)  # deleted
        c.call("POST", f"{hl}/entries/hle_00000000000000000000000000/feedback", token=de["token"], body={"verdict": "confirmed"}, expect=404)

        # staff see all of it, a partner its own
        listing = f"{hl}/feedback"
        every = c.call("GET", listing, token=analyst, expect=200).json()["feedback"]
        assert [f["id"] for f in every] == [mine["id"], theirs["id"], staff["id"], kept["id"]], every
        assert [f["id"] for f in c.call("GET", listing, token=de["token"], expect=200).json()["feedback"]] == [mine["id"], kept["id"]]
        assert [f["id"] for f in c.call("GET", listing, token=nl["token"], params={"status": "all"}, expect=200).json()["feedback"]] == [theirs["id"]]
        assert c.call("GET", listing, token=analyst, params={"status": "kept"}, expect=200).json()["feedback"] == []
        problem = c.call("GET", listing, token=analyst, params={"status": "closed"}, expect=400).json()
        assert [p["name"] for p in problem["invalid_params"]] == ["status"], problem
        c.call("GET", listing, token=self.police["token"], expect=404)
        c.call("GET", listing, expect=401)

        # keep one; delete the entry of another, which resolves every open feedback on that entry
        resolved = c.call("POST", f"{hl}/feedback/{kept['id']}/resolve", token=analyst, body={"action": "keep", "note": "on the list for a reason"}, expect=200).json()
        assert (resolved["status"], resolved["note"]) == ("kept", "on the list for a reason") and resolved["resolved_by"].startswith("analyst:"), resolved
        c.call("POST", f"{hl}/feedback/{kept['id']}/resolve", token=analyst, body={"action": "keep"}, expect=409)
        dropped = c.call("POST", f"{hl}/feedback/{mine['id']}/resolve", token=self.admin, body={"action": "delete", "reason": "false_positive", "note": None}, expect=200).json()
        assert dropped["status"] == "deleted" and dropped["resolved_by"].startswith("admin:"), dropped
        [closed] = c.call("GET", listing, token=nl["token"], params={"status": "deleted"}, expect=200).json()["feedback"]
        assert closed["id"] == theirs["id"] and "resolved_at" in closed, closed
        entry = c.call("GET", f"{hl}/entries/{target}", token=analyst, expect=200).json()
        assert (entry["status"], entry["deletion_reason"]) == ("deleted", "false_positive"), entry
        resolve = f"{hl}/feedback/{staff['id']}/resolve"
        for body, field in (({"action": "delete"}, "reason"), ({"action": "keep", "reason": "legal"}, "reason"), ({"action": "archive"}, "action"), ({}, "action")):
            problem = c.call("POST", resolve, token=analyst, body=body, expect=422).json()
            assert [p["name"] for p in problem["invalid_params"]] == [field], (body, problem)
        c.call("POST", resolve, token=analyst, body={"action": 1}, expect=400)
        c.call("POST", resolve, token=analyst, raw=b"", expect=400)
        c.call("POST", resolve, token=analyst, raw=b'{"action": "keep"}', content_type="text/plain", expect=415)
        c.call("POST", resolve, token=de["token"], body={"action": "keep"}, expect=403)
        c.call("POST", resolve, body={"action": "keep"}, expect=401)
        c.call("POST", f"{hl}/feedback/hfb_00000000000000000000000000/resolve", token=analyst, body={"action": "keep"}, expect=404)
        c.call("POST", f"/v1/hash-lists/{self.le_list['id']}/feedback/{staff['id']}/resolve", token=analyst, body={"action": "keep"}, expect=404)

    def hash_list_feed(self) -> None:
        c, de = self.c, self.de
        list_id = self.hl["id"]
        last_seq = c.call("GET", f"/v1/hash-lists/{list_id}", token=de["token"], expect=200).json()["last_seq"]
        assert last_seq == 15, last_seq  # 8 from cases, 2 added, 1 reclassified, 1 out of scope, 1 back, 2 deleted

        # a partner follows the cursor until `Takedown-Has-More` is false
        seen: list[dict] = []
        first, records = self.feed(list_id, de["token"], limit="4")
        page, params = first, {"limit": "4"}
        for _ in range(10):
            seen += records
            more = page.headers["Takedown-Has-More"] == "true"
            cursor = page.headers["Takedown-Next-Cursor"]
            expected_link = f'</v1/hash-lists/{list_id}/changes?after={cursor}&limit=4>; rel="next"' if more else None
            assert page.headers.get("Link") == expected_link, page.headers
            if not more:
                break
            params = {"after": cursor, "limit": "4"}
            page, records = self.feed(list_id, de["token"], **params)
        assert [r["seq"] for r in seen] == list(range(1, last_seq + 1)), [r["seq"] for r in seen]
        assert [(r["op"], r.get("reason")) for r in seen if r["entry_id"] == self.hl_case_entries[1]] == [("upsert", None), ("delete", "duplicate")], seen
        assert all("case_id" not in r for r in seen)
        end, nothing = self.feed(list_id, de["token"], after=cursor)
        assert nothing == [] and end.headers["Takedown-Next-Cursor"] == cursor and end.headers["Takedown-Has-More"] == "false", end.headers
        assert int(end.headers["Takedown-Min-Poll-Seconds"]) == self.hl["min_poll_seconds"], end.headers

        # the first page again: unchanged, so 304 with the tag; another tag gets the page
        changes = f"/v1/hash-lists/{list_id}/changes"
        etag = first.headers["ETag"]
        unchanged = c.call("GET", changes, token=de["token"], params={"limit": "4"}, headers={"If-None-Match": etag}, expect=304)
        assert unchanged.headers["ETag"] == etag and not unchanged.content, unchanged.headers
        c.call("GET", changes, token=de["token"], params={"limit": "4"}, headers={"If-None-Match": '"0000"'}, expect=200)
        self.feed(list_id, self.analyst)
        c.call("GET", changes, token=de["token"], params={"after": "%%%"}, expect=400)
        c.call("GET", changes, token=de["token"], params={"limit": "0"}, expect=400)
        c.call("GET", changes, token=de["token"], params={"limit": "10001"}, expect=400)
        c.call("GET", changes, token=self.police["token"], expect=404)
        c.call("GET", "/v1/hash-lists/hl_00000000000000000000000000/changes", token=self.analyst, expect=404)
        c.call("GET", changes, expect=401)

    def hash_list_ncmec(self) -> None:
        """The list in NCMEC's dialect: Basic sign-in with the partner's id and token, XML pages."""
        c, de = self.c, self.de
        base = f"/v1/hash-lists/{self.hl['id']}/ncmec/v2"
        basic = {"Authorization": "Basic " + base64.b64encode(f"{de['id']}:{de['token']}".encode()).decode()}
        wrong = {"Authorization": "Basic " + base64.b64encode(f"{de['id']}:tdk_wrong".encode()).decode()}
        status = c.call("GET", f"{base}/status", headers=basic, expect=200)
        assert f"<username>{de['id']}</username>" in status.text, status.text
        c.call("GET", f"{base}/members", headers=basic, expect=200)
        c.call("GET", f"{base}/members", token=self.analyst, expect=200)
        page = c.call("GET", f"{base}/entries", headers=basic, params={"from": "1970-01-01T00:00:00Z", "size": "4"}, expect=200)
        assert page.text.count("<id>") == 4 and "<next>/v2/entries?" in page.text, page.text[:500]
        c.call("GET", f"{base}/entries", headers=basic, params={"size": "0"}, expect=400)
        c.call("GET", f"{base}/entries", headers=basic, params={"from": "soon"}, expect=400)
        c.call("GET", f"{base}/feedback/PDQ/reasons", headers=basic, expect=200)
        c.call("GET", f"{base}/feedback/CRC32/reasons", headers=basic, expect=404)
        assert c.call("GET", f"{base}/status", headers=wrong, expect=401).headers["WWW-Authenticate"].startswith("Basic")
        c.call("GET", f"{base}/entries", token=self.police["token"], expect=404)
        # the pages read are in the download log, as the document describes its rows
        log = c.call("GET", f"/v1/hash-lists/{self.hl['id']}/downloads", token=self.analyst, params={"limit": "1000"}, expect=200)
        assert any(row["format"] == "ncmec" and row.get("partner_id") == de["id"] for row in log.json()["downloads"]), log.text[:500]

        # feedback as the client puts it: the entry's contributor is the member in the path
        members = c.call("GET", f"{base}/members", headers=basic, expect=200).text
        member = members.split('<member id="')[1].split('"')[0]
        entry = page.text.split("<id>")[1].split("</id>")[0]
        ns = "https://hashsharing.ncmec.org/hashsharing/v2"
        vote = f'<feedbackSubmission xmlns="{ns}"><affirmative/></feedbackSubmission>'.encode()
        xml = {**basic, "Content-Type": "application/xml; charset=utf-8"}
        feedback = f"{base}/entries/{member}/{entry}/MD5/feedback"
        c.call("PUT", feedback, headers=xml, raw=vote, content_type="application/xml", expect=204)
        c.call("PUT", feedback, headers=xml, raw=b"<feedbackSubmission/>", content_type="application/xml", expect=400)
        c.call("PUT", feedback, headers=xml, raw=vote, content_type="application/json", expect=415)
        c.call("PUT", f"{base}/entries/1/{entry}/MD5/feedback", headers=xml, raw=vote, content_type="application/xml", expect=404)
        c.call("PUT", feedback, headers=wrong, raw=vote, content_type="application/xml", expect=401)
        given = c.call("GET", f"/v1/hash-lists/{self.hl['id']}/feedback", token=self.analyst, params={"status": "all"}, expect=200)
        assert any(f["entry_id"] == entry and f["verdict"] == "confirmed" for f in given.json()["feedback"]), given.text[:500]

    def hash_list_sources(self) -> None:
        """Another list imports this one through its NCMEC base URL, as a peer gateway would."""
        c, admin, analyst, de = self.c, self.admin, self.analyst, self.de
        imported = c.call("POST", "/v1/hash-lists", token=admin, expect=201, body={
            "name": f"Imported {tag()}", "audience": "hosting_provider", "hash_types": ["md5", "sha256", "pdq"],
            "include": {"uk_grades": ["A"]}, "partners": []}).json()
        sources = f"/v1/hash-lists/{imported['id']}/sources"
        body = {"name": "This gateway, as a peer", "base_url": f"{self.gateway.url}/v1/hash-lists/{self.hl['id']}/ncmec",
                "username": de["id"], "password": de["token"], "uk_grade": "A", "interval_seconds": 3600}
        c.call("POST", sources, token=analyst, body=body, expect=403)
        c.call("POST", sources, token=admin, body={**body, "uk_grade": "B"}, expect=422)
        c.call("POST", sources, token=admin, raw=b"{", expect=400)
        c.call("POST", "/v1/hash-lists/hl_00000000000000000000000000/sources", token=admin, body=body, expect=404)
        source = c.call("POST", sources, token=admin, body=body, expect=201).json()
        assert "password" not in source and source["status"] == "due", source
        deadline = time.monotonic() + 60
        while True:  # the first pull is due at once
            shown = c.call("GET", f"{sources}/{source['id']}", token=analyst, expect=200).json()
            if shown["status"] == "synced":
                break
            assert shown["status"] != "failing" and time.monotonic() < deadline, shown
            time.sleep(0.1)
        assert shown["counts"]["added"] > 0 and shown["counts"]["pages"] >= 1, shown
        listed = c.call("GET", sources, token=analyst, expect=200).json()["sources"]
        assert [s["id"] for s in listed] == [source["id"]], listed
        c.call("GET", sources, token=de["token"], expect=403)
        pulled = c.call("POST", f"{sources}/{source['id']}/pull", token=analyst, expect=202).json()
        assert pulled["status"] == "due", pulled
        c.call("POST", f"{sources}/src_00000000000000000000000000/pull", token=analyst, expect=404)
        c.call("GET", f"/v1/hash-lists/{self.hl['id']}/sources/{source['id']}", token=analyst, expect=404)
        # imported entries say where they came from (the list also took in the stored cases of grade A)
        _, records = self.feed(imported["id"], analyst, limit="1000")
        origins = [r["origin"] for r in records if "origin" in r]
        assert len(origins) >= shown["counts"]["added"] and all(o["source"] == source["id"] for o in origins), records

    def hash_list_versions(self) -> None:
        c, analyst, de, police = self.c, self.analyst, self.de, self.police
        hl = f"/v1/hash-lists/{self.hl['id']}"
        c.call("POST", f"{hl}/publish", token=de["token"], expect=403)
        c.call("POST", f"{hl}/publish", expect=401)
        c.call("POST", "/v1/hash-lists/hl_00000000000000000000000000/publish", token=analyst, expect=404)

        # publish: the manifest is the JWS payload; nothing changed since gives the same version with 200
        first = c.call("POST", f"{hl}/publish", token=analyst, expect=201)
        v1 = first.json()
        assert jws_parts(v1["jws"])[1] == v1["manifest"], v1
        assert (v1["manifest"]["version"], v1["manifest"]["seq"], v1["manifest"]["entry_count"]) == (1, 15, 8), v1["manifest"]
        assert v1["manifest"]["previous_manifest_sha256"] is None and v1["manifest"]["list_id"] == self.hl["id"], v1["manifest"]
        same = c.call("POST", f"{hl}/publish", token=self.admin, expect=200)
        assert same.json() == v1 and same.headers["ETag"] == first.headers["ETag"], same.headers
        c.call("POST", f"{hl}/entries", token=analyst, expect=201, body={"entries": [
            {"media_type": "image", "hashes": {"md5": secrets.token_hex(16), "sha256": secrets.token_hex(32)}, "classification": {"uk_grade": "A"}}]})
        second = c.call("POST", f"{hl}/publish", token=analyst, expect=201)
        v2 = second.json()
        payload = [hashlib.sha256(b64url_decode(v["jws"].split(".")[1])).hexdigest() for v in (v1, v2)]
        assert (v2["manifest"]["version"], v2["manifest"]["previous_manifest_sha256"]) == (2, payload[0]), v2["manifest"]

        versions = c.call("GET", f"{hl}/versions", token=de["token"], expect=200).json()["versions"]
        assert [(v["version"], v["seq"], v["entry_count"], v["manifest_sha256"]) for v in versions] == [(1, 15, 8, payload[0]), (2, 16, 9, payload[1])], versions
        c.call("GET", f"{hl}/versions", token=analyst, expect=200)
        c.call("GET", f"{hl}/versions", token=police["token"], expect=404)
        c.call("GET", "/v1/hash-lists/hl_00000000000000000000000000/versions", token=analyst, expect=404)
        c.call("GET", f"{hl}/versions", expect=401)

        # the signed manifest, by number or `latest`, revalidated with its tag
        latest = c.call("GET", f"{hl}/versions/latest/manifest", token=de["token"], expect=200)
        assert latest.json() == v2 and latest.headers["ETag"] == second.headers["ETag"], latest.headers
        c.call("GET", f"{hl}/versions/latest/manifest", token=de["token"], headers={"If-None-Match": f'"x", {latest.headers["ETag"]}'}, expect=304)
        assert c.call("GET", f"{hl}/versions/1/manifest", token=analyst, expect=200).json() == v1
        for version in ("3", "0", "v1", "-1"):
            c.call("GET", f"{hl}/versions/{version}/manifest", token=de["token"], expect=404)
        c.call("GET", f"{hl}/versions/1/manifest", token=police["token"], expect=404)
        c.call("GET", f"{hl}/versions/1/manifest", expect=401)

        # every export of version 2, plain and gzip, matches the manifest's SHA-256 and size
        export = f"{hl}/versions/2/export"
        kinds = {(e["format"], e["hash"]): e for e in v2["manifest"]["exports"]}
        assert list(kinds)[0] == ("ndjson", None) and set(kinds) == {("ndjson", None), ("csv", None), ("text", "md5"), ("text", "sha256"), ("text", "pdq"), ("vics", None)}, kinds
        for (format, hash_type), described in kinds.items():
            params = {"format": format, **({"hash": hash_type} if hash_type else {})}
            plain = c.call("GET", export, token=de["token"], params=params, headers={"Accept-Encoding": "identity"}, expect=200)
            assert "content-encoding" not in plain.headers and plain.headers["ETag"] == f'"{described["sha256"]}"', plain.headers
            assert (hashlib.sha256(plain.content).hexdigest(), len(plain.content)) == (described["sha256"], described["bytes"]), params
            packed = c.call("GET", export, token=self.admin, params=params, headers={"Accept-Encoding": "gzip"}, expect=200)
            assert packed.headers["Content-Encoding"] == "gzip" and packed.headers["ETag"] == f'"{described["sha256"]}-gzip"', packed.headers
            assert packed.content == plain.content, params
            c.call("GET", export, token=de["token"], params=params, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}, expect=304)
            if format == "ndjson":
                lines = [json.loads(line) for line in plain.content.decode("utf-8").splitlines()]
                assert len({r["entry_id"] for r in lines}) == len(lines) == v2["manifest"]["entry_count"], lines
                assert all(r["op"] == "upsert" for r in lines), lines
            elif format == "vics":
                assert len(plain.json()["value"]) == sum(1 for r in lines if "md5" in r["hashes"]), plain.json()
        assert c.call("GET", export, token=de["token"], params={"format": "text"}, expect=200).content == \
            c.call("GET", export, token=de["token"], params={"format": "text", "hash": "md5"}, expect=200).content
        c.call("GET", f"{hl}/versions/latest/export", token=analyst, params={"format": "csv"}, expect=200)
        for params, name in (({}, "format"), ({"format": "xml"}, "format"), ({"format": "csv", "hash": "md5"}, "hash"),
                             ({"format": "text", "hash": "sha1"}, "hash"), ({"format": "text", "hash": "crc32"}, "hash")):
            problem = c.call("GET", export, token=de["token"], params=params or None, expect=400).json()
            assert [p["name"] for p in problem["invalid_params"]] == [name], (params, problem)
        c.call("GET", f"{hl}/versions/9/export", token=de["token"], params={"format": "csv"}, expect=404)
        c.call("GET", export, token=police["token"], params={"format": "csv"}, expect=404)
        c.call("GET", export, params={"format": "csv"}, expect=401)

        # the police list carries SHA-1 only: no VICS (its key is MD5), one text file
        le = f"/v1/hash-lists/{self.le_list['id']}"
        c.call("POST", f"{le}/publish", token=self.admin, expect=201)
        c.call("GET", f"{le}/versions/1/export", token=police["token"], params={"format": "vics"}, expect=400)
        assert len(c.call("GET", f"{le}/versions/1/export", token=police["token"], params={"format": "text"}, expect=200).text.splitlines()) == 1

        # the download log: every manifest and export sent (not the 304s), paged
        expected = 2 + 2 * len(kinds) + 3  # 2 manifests, each export plain and gzip, text, text md5, latest csv
        deadline = time.monotonic() + 10  # an export is logged once its last byte is sent
        while len(c.call("GET", f"{hl}/downloads", token=analyst, params={"limit": "1000"}, expect=200).json()["downloads"]) < expected:
            assert time.monotonic() < deadline, "the downloads were not all logged"
            time.sleep(0.1)
        rows: list[dict] = []
        page = c.call("GET", f"{hl}/downloads", token=analyst, params={"limit": "5"}, expect=200).json()
        for _ in range(20):
            if not page["downloads"]:
                break
            rows += page["downloads"]
            page = c.call("GET", f"{hl}/downloads", token=analyst, params={"limit": "5", "after": page["next_cursor"]}, expect=200).json()
        assert len(rows) == expected, rows
        assert {r["format"] for r in rows} == {"manifest", "ndjson", "csv", "text", "vics"} and {r["gzip"] for r in rows} == {True, False}, rows
        assert {r.get("partner_id") for r in rows} == {de["id"], None}, rows
        everything = c.call("GET", f"{hl}/downloads", token=self.admin, params={"limit": "1000"}, expect=200).json()
        assert everything["downloads"] == rows, everything
        c.call("GET", f"{hl}/downloads", token=analyst, params={"after": "%%%"}, expect=400)
        c.call("GET", f"{hl}/downloads", token=analyst, params={"limit": "0"}, expect=400)
        c.call("GET", f"{hl}/downloads", token=analyst, params={"limit": "1001"}, expect=400)
        c.call("GET", f"{hl}/downloads", token=de["token"], expect=403)
        c.call("GET", f"{hl}/downloads", expect=401)
        c.call("GET", "/v1/hash-lists/hl_00000000000000000000000000/downloads", token=analyst, expect=404)

    def hash_list_resync(self) -> None:
        """A tombstone past retention is compacted away: a feed cursor before it, and an export of a version
        before it, are 410 `resync-required`. Retention is at least a day, so the scenario backdates the
        deletion in the gateway's database and lets the one-second maintenance compact it."""
        c, analyst, de = self.c, self.analyst, self.de
        compacted = c.call(
            "POST", "/v1/hash-lists", token=self.admin, expect=201,
            body={"name": f"Compaction {tag()}", "audience": "hosting_provider", "hash_types": ["sha256"], "include": {"uk_grades": ["C"]}, "partners": [de["id"]]},
        ).json()
        assert (compacted["entry_count"], compacted["tombstone_retention_days"]) == (3, 1), compacted  # the outbox case
        hl = f"/v1/hash-lists/{compacted['id']}"
        v1 = c.call("POST", f"{hl}/publish", token=analyst, expect=201).json()["manifest"]
        [added] = c.call("POST", f"{hl}/entries", token=analyst, expect=201, body={"entries": [
            {"media_type": "video", "hashes": {"sha256": secrets.token_hex(32)}, "classification": {"uk_grade": "C"}}]}).json()["entries"]
        c.call("DELETE", f"{hl}/entries/{added['id']}", token=analyst, params={"reason": "legal"}, expect=200)
        v2 = c.call("POST", f"{hl}/publish", token=analyst, expect=201).json()["manifest"]
        assert (v1["seq"], v2["seq"]) == (3, 5), (v1, v2)
        _, behind = self.feed(compacted["id"], de["token"], after=v1["feed_cursor"])
        assert [(r["seq"], r["op"]) for r in behind] == [(4, "upsert"), (5, "delete")], behind

        with sqlite3.connect(self.gateway.data_dir / "takedown.sqlite", timeout=10) as db:
            changed = db.execute(
                "UPDATE hash_list_entries SET deleted_at = deleted_at - 2 * 86400 WHERE list_id = ? AND deleted_at IS NOT NULL",
                (compacted["id"],),
            ).rowcount
        db.close()
        assert changed == 1, changed
        changes = f"{hl}/changes"
        deadline = time.monotonic() + 20
        while self.gateway.request("GET", changes, token=de["token"], params={"after": v1["feed_cursor"]}, expect=None).status_code != 410:
            assert time.monotonic() < deadline, "the backdated tombstone was not compacted within 20 s"
            time.sleep(0.2)
        gone = c.call("GET", changes, token=de["token"], params={"after": v1["feed_cursor"]}, expect=410).json()
        assert gone["type"].endswith("/resync-required") and v2["feed_cursor"] in gone["detail"], gone
        c.call("GET", changes, token=analyst, params={"after": v1["feed_cursor"], "limit": "1"}, headers={"If-None-Match": "*"}, expect=410)
        problem = c.call("GET", f"{hl}/versions/1/export", token=de["token"], params={"format": "ndjson"}, expect=410).json()
        assert problem["type"].endswith("/resync-required"), problem
        assert c.call("GET", f"{hl}/versions/1/manifest", token=de["token"], expect=200).json()["manifest"] == v1  # the manifest stays
        c.call("GET", f"{hl}/versions/2/export", token=de["token"], params={"format": "ndjson"}, expect=200)
        # from the start, or from version 2's cursor, the feed goes on without the compacted entry
        _, fresh = self.feed(compacted["id"], de["token"])
        assert [r["seq"] for r in fresh] == [1, 2, 3], fresh
        assert self.feed(compacted["id"], de["token"], after=v2["feed_cursor"])[1] == []
    # SLA policies and URL verification records ------------------------------------------------------

    def clocks(self) -> None:
        c, admin, analyst = self.c, self.admin, self.analyst
        policy_body = {
            "name": f"Members {tag()}", "deadline_seconds": 7200, "escalation_partner_id": self.police["id"],
            "ladder": [{"after_seconds": 3600, "action": "reminder"}, {"after_seconds": 172800, "action": "escalation"},
                       {"after_seconds": 604800, "action": "expiry"}],
        }
        policy = c.call("POST", "/v1/sla-policies", token=admin, body=policy_body, expect=201).json()
        assert policy["default"] is False and policy["escalation_partner_id"] == self.police["id"], policy
        c.call("POST", "/v1/sla-policies", token=admin, body=policy_body, expect=409)  # the name is taken
        bad = {"name": "", "deadline_seconds": 0, "ladder": [{"after_seconds": 1, "action": "expiry"}, {"after_seconds": 2, "action": "nag"}]}
        problem = c.call("POST", "/v1/sla-policies", token=admin, body=bad, expect=422).json()
        assert [p["name"] for p in problem["invalid_params"]] == ["name", "deadline_seconds", "ladder[1].action"], problem
        c.call("POST", "/v1/sla-policies", token=admin, raw=b"{", expect=400)
        c.call("POST", "/v1/sla-policies", token=analyst, body=policy_body, expect=403)
        c.call("POST", "/v1/sla-policies", body=policy_body, expect=401)
        listed = c.call("GET", "/v1/sla-policies", token=analyst, expect=200).json()["policies"]
        assert [p["id"] for p in listed] == ["sla_default", policy["id"]], listed
        assert listed[0]["default"] is True and listed[0]["deadline_seconds"] == 86400, listed[0]
        c.call("GET", "/v1/sla-policies", token=self.de["token"], expect=403)
        assert c.call("GET", f"/v1/sla-policies/{policy['id']}", token=admin, expect=200).json() == policy
        c.call("GET", "/v1/sla-policies/sla_default", token=analyst, expect=200)
        c.call("GET", "/v1/sla-policies/sla_0000000000000000000000000z", token=analyst, expect=404)

        # a partner gets the policy at creation or by PATCH; its new notices take the policy's deadline
        member = c.call(
            "POST", "/v1/partners", token=admin, expect=201,
            body=partner_body(name=f"Member {tag()}", locale="en", jurisdiction="GB", domains=["member.test"],
                              sla_policy_id=policy["id"]),
        ).json()
        assert member["sla_policy_id"] == policy["id"], member
        unknown = c.call("PATCH", f"/v1/partners/{member['id']}", token=admin, body={"sla_policy_id": "sla_0000000000000000000000000z"}, expect=422).json()
        assert [p["name"] for p in unknown["invalid_params"]] == ["sla_policy_id"], unknown
        assert c.call("PATCH", f"/v1/partners/{member['id']}", token=admin, body={"sla_policy_id": ""}, expect=200).json()["sla_policy_id"] == "sla_default"
        c.call("PATCH", f"/v1/partners/{member['id']}", token=admin, body={"sla_policy_id": policy["id"]}, expect=200)
        receipt = c.call("POST", "/v1/cases", token=analyst, body={
            "reference": f"SLA-{tag()}", "category": {"uk_grade": "B"}, "media_type": "image",
            "items": [item("https://member.test/a.jpg")]}, expect=201).json()
        notice = c.call("GET", f"/v1/notices/{receipt['notices'][0]['id']}", token=admin, expect=200).json()
        issued, deadline = (datetime.fromisoformat(notice[k].replace("Z", "+00:00")) for k in ("issued_at", "deadline_at"))
        assert notice["sla_policy_id"] == policy["id"] and deadline - issued == timedelta(hours=2), notice

        # the verification record (this gateway runs no verification worker: no checks, next one scheduled)
        record = c.call("GET", f"/v1/notices/{notice['id']}/verifications", token=analyst, expect=200).json()
        assert record["checks"] == [] and record["verified_at"] is None and record["next_check_at"], record
        c.call("GET", f"/v1/notices/{self.n_de}/verifications", token=admin, expect=200)
        c.call("GET", f"/v1/notices/{notice['id']}/verifications", token=member["token"], expect=403)
        c.call("GET", "/v1/notices/ntc_0000000000000000000000000z/verifications", token=admin, expect=404)
        c.call("GET", f"/v1/notices/{notice['id']}/verifications", expect=401)

    # errors not tied to one resource --------------------------------------------------------------

    # the audit trail ------------------------------------------------------------------------------

    # referrals between hotlines ---------------------------------------------------------------------

    def referrals(self) -> None:
        """A peer hotline played by this test with its own Ed25519 key: it refers a case here and reports on
        one referred to it, both signed by Python's `cryptography`, never by the gateway's code."""
        c, admin, gateway = self.c, self.admin, self.gateway
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes_raw()
        peer_url = "http://127.0.0.1:9"  # nothing listens: deliveries to it fail, key refreshes are a 422
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw), "kid": "peer-key-1"}
        peer = c.call("POST", "/v1/partners", token=admin, expect=201, body={
            "name": "Peer hotline NL", "kind": "hotline", "contact_email": "analysts@hotline-nl.test", "locale": "en",
            "jurisdiction": "NL", "routing": {"countries": ["nl"]},
            "delivery": {"gateway": {"base_url": peer_url, "jwks": {"keys": [jwk]}}}}).json()
        assert peer["routing"]["countries"] == ["NL"] and peer["delivery"]["gateway"]["keys"][0]["kid"] == "peer-key-1"
        c.call("POST", f"/v1/partners/{peer['id']}/gateway/keys", token=admin, expect=422)
        c.call("POST", f"/v1/partners/{self.de['id']}/gateway/keys", token=admin, expect=409)

        def sign(claims: dict, kid: str = "peer-key-1", signer: Ed25519PrivateKey = key) -> str:
            head = b64url_encode(json.dumps({"alg": "EdDSA", "kid": kid, "typ": "JWT"}).encode())
            body = b64url_encode(json.dumps(claims).encode())
            return f"{head}.{body}." + b64url_encode(signer.sign(f"{head}.{body}".encode()))

        # Out: an unrouted item sent to the peer, and the peer's update about it.
        receipt = c.call("POST", "/v1/cases", token=self.analyst, expect=201, body={
            "reference": "REF-OUT", "category": {"uk_grade": "B"}, "media_type": "image",
            "items": [item("https://nobody-hosts-this.test/r.jpg")]}).json()
        notice = c.call("POST", f"/v1/cases/{receipt['id']}/route", token=self.analyst, expect=201,
                        body={"urls": ["https://nobody-hosts-this.test/r.jpg"], "partner_id": peer["id"]}).json()
        now = int(time.time())
        update = {"iss": peer_url, "aud": gateway.url, "iat": now, "jti": "upd_" + "0" * 8 + "-0000-0000-0000-" + "0" * 12,
                  "type": "referral_update", "referral": notice["id"], "received_as": "rfl_" + "0" * 26, "sequence": 1,
                  "status": "accepted", "at": just_now_utc(), "notices": 0, "items": [{"url": "https://nobody-hosts-this.test/r.jpg"}]}
        applied = c.call("POST", "/v1/referral-updates", raw=sign(update).encode(), content_type="application/jose", expect=200).json()
        assert applied == {"referral": notice["id"], "remote_status": "accepted"}, applied
        c.call("POST", "/v1/referral-updates", raw=sign(update).encode(), content_type="application/jose", expect=200)
        c.call("POST", "/v1/referral-updates", raw=sign({**update, "referral": "ntc_" + "0" * 26}).encode(),
               content_type="application/jose", expect=404)
        # Without RDAP the item has no proposal to accept.
        proposals = f"/v1/cases/{receipt['id']}/proposals/accept"
        c.call("POST", proposals, token=self.analyst, body={"url": "https://nobody-hosts-this.test/r.jpg"}, expect=409)
        c.call("POST", proposals, token=self.analyst, body={"url": "https://elsewhere.test/"}, expect=422)
        c.call("POST", proposals, token=self.analyst, body={}, expect=422)
        out = c.call("GET", "/v1/referrals", token=admin, params={"direction": "out"}, expect=200).json()
        assert [r["remote_status"] for r in out["referrals"]] == ["accepted"] and out["referrals"][0]["status"] == "acknowledged", out

        # In: a referral from the peer, repeated, forged, accepted; another declined.
        notices = c.call("GET", "/v1/notices", token=admin, params={"limit": "5"}, expect=200).json()["notices"]
        template = next(n["document"] for n in notices if n["document"]["type"] == "takedown_notice")
        def referral(jti: str, url: str) -> dict:
            document = copy.deepcopy(template)
            item_ = {**document["items"][0], "url": url, "trace": {"addresses": ["192.0.2.10"], "country": "NL", "basis": "hosting_country", "traced_at": just_now_utc()}}
            item_.pop("ip", None)
            document.update(type="referral", iss=peer_url, aud=gateway.url, iat=int(time.time()), jti=jti, id=jti, items=[item_])
            return document
        first = sign(referral("ntc_" + "1" * 26, "https://www.example.com/ref/1.jpg"))
        received = c.call("POST", "/v1/referrals", raw=first.encode(), content_type="application/jose", expect=201).json()
        self.referral_id = received["id"]
        assert received["state"] == "received"
        assert c.call("POST", "/v1/referrals", raw=first.encode(), content_type="application/jose", expect=200).json() == received
        c.call("POST", "/v1/referrals", raw=sign(referral("ntc_" + "2" * 26, "https://www.example.com/ref/2.jpg"), kid="never-published").encode(), content_type="application/jose", expect=401)
        c.call("POST", "/v1/referrals", raw=b"not a jws", content_type="application/jose", expect=422)
        c.call("POST", "/v1/referrals", raw=sign({**referral("ntc_" + "3" * 26, "https://www.example.com/ref/3.jpg"), "aud": "http://127.0.0.1:1"}).encode(), content_type="application/jose", expect=403)
        c.call("POST", "/v1/referrals", raw=sign(referral("ntc_" + "1" * 26, "https://www.example.com/ref/other.jpg")).encode(), content_type="application/jose", expect=409)
        second = c.call("POST", "/v1/referrals", raw=sign(referral("ntc_" + "4" * 26, "https://www.example.com/ref/4.jpg")).encode(), content_type="application/jose", expect=201).json()
        shown = c.call("GET", f"/v1/referrals/{received['id']}", token=self.analyst, expect=200).json()
        assert shown["jws"] == first and shown["document"]["items"][0]["trace"]["country"] == "NL"
        accepted = c.call("POST", f"/v1/referrals/{received['id']}/accept", token=self.analyst, expect=200).json()
        assert accepted["state"] == "accepted" and accepted["case_id"]
        c.call("POST", f"/v1/referrals/{received['id']}/accept", token=self.analyst, expect=409)
        c.call("POST", f"/v1/referrals/{second['id']}/decline", token=self.analyst, body={}, expect=400)
        declined = c.call("POST", f"/v1/referrals/{second['id']}/decline", token=self.analyst, body={"reason": "not hosted in NL"}, expect=200).json()
        assert declined["state"] == "declined" and declined["reason"] == "not hosted in NL"
        listing = c.call("GET", "/v1/referrals", token=admin, params={"direction": "in"}, expect=200).json()
        states = sorted(r["state"] for r in listing["referrals"])
        assert states == ["accepted", "declined", "refused", "refused", "refused", "refused"], states
        refused = c.call("GET", "/v1/referrals", token=admin, params={"status": "refused", "limit": "2"}, expect=200).json()
        assert len(refused["referrals"]) == 2
        c.call("GET", "/v1/referrals", token=admin, params={"direction": "sideways"}, expect=400)
        c.call("GET", "/v1/referrals", token=admin, params={"status": "lost"}, expect=400)
        c.call("GET", "/v1/referrals", token=self.de["token"], expect=403)
        c.call("GET", "/v1/referrals/rfl_" + "0" * 26, token=admin, expect=404)

    def holds(self) -> None:
        """A case held for the police: nothing issued; the force sees, delays and releases its hold."""
        c, analyst, admin = self.c, self.analyst, self.admin
        police, nl_token = self.police["token"], self.nl["token"]
        url = f"https://cdn.hoster-nl.test/held/{tag()}.jpg"
        body = {
            "reference": f"OPENAPI-HOLD-{tag()}", "category": {"uk_grade": "B"}, "media_type": "video",
            "items": [item(url)],
            "police_hold": {"partner_id": self.police["id"], "reason": "covert operation", "until": None},
        }
        c.call("POST", "/v1/cases", token=analyst, body={**body, "police_hold": {"partner_id": self.nl["id"]}}, expect=422)
        c.call("POST", "/v1/cases", token=analyst, body={**body, "police_hold": {"partner_id": 5}}, expect=400)
        receipt = c.call("POST", "/v1/cases", token=analyst, body=body, expect=201).json()
        assert receipt["notices"] == [] and receipt["hold"]["planned"] == [{"partner_id": self.nl["id"], "urls": [url]}], receipt
        hold = f"/v1/holds/{receipt['hold']['id']}"
        listed = c.call("GET", "/v1/holds", token=police, expect=200).json()["holds"]
        assert [h["id"] for h in listed] == [receipt["hold"]["id"]], listed
        c.call("GET", "/v1/holds", token=analyst, params={"status": "held", "limit": "5"}, expect=200)
        c.call("GET", "/v1/holds", token=analyst, params={"status": "maybe"}, expect=400)
        c.call("GET", "/v1/holds", token=nl_token, expect=403)
        c.call("GET", "/v1/holds", expect=401)
        c.call("GET", hold, token=nl_token, expect=404)
        assert c.call("GET", hold, token=police, expect=200).json()["status"] == "held"
        c.call("GET", hold, expect=401)
        c.call("POST", f"{hold}/delay", token=police, body={"until": "2000-01-01T00:00:00Z"}, expect=422)
        c.call("POST", f"{hold}/delay", token=police, body={"until": 5}, expect=400)
        c.call("POST", f"{hold}/delay", token=police, raw=b"{}", content_type="text/plain", expect=415)
        c.call("POST", f"{hold}/delay", token=nl_token, body={"until": "2099-01-01T00:00:00Z"}, expect=404)
        c.call("POST", f"{hold}/delay", body={"until": "2099-01-01T00:00:00Z"}, expect=401)
        until = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        delayed = c.call("POST", f"{hold}/delay", token=police, body={"until": until, "reason": "arrest pending"}, expect=200).json()
        assert delayed["ends_at"] == until and delayed["delay_reason"] == "arrest pending", delayed
        assert not any(n["items"][0]["url"] == url for n in c.call("GET", "/v1/notices", token=nl_token, expect=200).json()["notices"])
        c.call("POST", f"{hold}/release", token=nl_token, expect=404)
        c.call("POST", f"{hold}/release", expect=401)
        released = c.call("POST", f"{hold}/release", token=police, expect=200).json()
        assert released["status"] == "released" and len(released["notice_ids"]) == 1, released
        c.call("POST", f"{hold}/release", token=analyst, expect=409)
        c.call("POST", f"{hold}/delay", token=police, body={"until": until}, expect=409)
        c.call("GET", f"/v1/notices/{released['notice_ids'][0]}", token=nl_token, expect=200)
        figures = c.call("GET", "/v1/stats/holds", token=analyst, expect=200).json()["partners"]
        assert [f["released"] for f in figures if f["partner_id"] == self.police["id"]] == [1], figures
        c.call("GET", "/v1/stats/holds", token=analyst, params={"from": "2026-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, expect=400)
        c.call("GET", "/v1/stats/holds", token=police, expect=403)
        c.call("GET", "/v1/stats/holds", expect=401)

    def audit(self) -> None:
        c, admin = self.c, self.admin
        every = c.call("GET", "/v1/audit", token=admin, params={"limit": "1000"}, expect=200).json()
        actions = {entry["action"] for entry in every["entries"]}
        # The scenario has made every kind of staff change by now.
        for action in ["POST /v1/partners", "PATCH /v1/partners/{partner_id}", "POST /v1/tokens",
                       "DELETE /v1/tokens/{token_id}", "POST /v1/cases", "POST /v1/notices/{notice_id}/withdraw",
                       "POST /v1/hash-lists", "POST /v1/sla-policies"]:
            assert action in actions, (action, sorted(actions))
        # Staff, and partners changing their own account (tokens, webhook, secret, contact) and nothing else.
        for entry in every["entries"]:
            if entry["actor"].startswith("partner:"):
                assert entry["action"].split(" ")[1].startswith(("/v1/partners/", "/v1/tokens")), entry
            else:
                assert entry["actor"].startswith(("admin:", "analyst:")), entry
        assert any(e["actor"] == f"partner:{self.hooked['id']}" and e["action"] == "POST /v1/partners/{partner_id}/webhook"
                   for e in every["entries"]), every
        first = every["entries"][0]
        if first.get("target"):
            narrowed = c.call("GET", "/v1/audit", token=admin, params={"target": first["target"]}, expect=200).json()
            assert narrowed["entries"] and all(e["target"] == first["target"] for e in narrowed["entries"]), narrowed
        page = c.call("GET", "/v1/audit", token=admin, params={"limit": "2"}, expect=200).json()
        rest = c.call("GET", "/v1/audit", token=admin, params={"after": page["next_cursor"], "limit": "1000"}, expect=200).json()
        assert page["entries"] + rest["entries"] == every["entries"]
        c.call("GET", "/v1/audit", token=admin, params={"after": "not-a-cursor"}, expect=400)
        c.call("GET", "/v1/audit", token=self.gateway.admin_token + "x", expect=401)

    def errors(self) -> None:
        c = self.c
        c.call("GET", "/v1/nope", token=self.admin, expect=404, unknown_route=True)
        c.call("GET", "/nope", expect=404, unknown_route=True)
        c.call("GET", f"/v1/notices/{self.n_de}/nope", token=self.admin, expect=404, unknown_route=True)
        c.call("PUT", "/v1/partners", token=self.admin, body={"name": "x"}, expect=404, unknown_route=True)  # not 405
        # 413: a body larger than TAKEDOWN_MAX_BODY_BYTES, on every operation that takes one
        padding = "x" * (MAX_BODY_BYTES + 1)
        big_case = {**self.case_a, "reference": f"BIG-{tag()}", "notes": padding}
        c.call("POST", "/v1/cases", token=self.analyst, body=big_case, expect=413)
        c.call("POST", f"/v1/cases/{self.receipt_a['id']}/route", token=self.analyst, body={"urls": [padding], "partner_id": self.de["id"]}, expect=413)
        c.call("POST", "/v1/partners", token=self.admin, body={"name": padding}, expect=413)
        c.call("POST", "/v1/sla-policies", token=self.admin, body={"name": padding}, expect=413)
        c.call("PATCH", f"/v1/partners/{self.nl['id']}", token=self.admin, body={"name": padding}, expect=413)
        c.call("POST", f"/v1/partners/{self.nl['id']}/tokens", token=self.admin, body={"name": padding}, expect=413)
        c.call("POST", "/v1/tokens", token=self.admin, body={"role": "analyst", "name": padding}, expect=413)
        notice, nl_token = f"/v1/notices/{self.routed_nl['id']}", self.nl["token"]
        c.call("POST", f"{notice}/acknowledge", token=nl_token, body={"padding": padding}, expect=413)
        c.call("POST", f"{notice}/removal", token=nl_token, body={"action": "removed", "note": padding}, expect=413)
        for answer in ("unable", "dispute"):
            c.call("POST", f"{notice}/{answer}", token=nl_token, body={"reason": padding}, expect=413)
        c.call("POST", f"{notice}/withdraw", token=self.analyst, body={"reason": padding}, expect=413)
        window = {"since": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z", "padding": padding}
        c.call("POST", f"/v1/partners/{self.hooked['id']}/endpoints/recover", token=self.analyst, body=window, expect=413)
        hl, admin = f"/v1/hash-lists/{self.hl['id']}", self.admin
        c.call("POST", "/v1/hash-lists", token=admin, body={"name": padding}, expect=413)
        c.call("PATCH", hl, token=admin, body={"name": padding}, expect=413)
        c.call("POST", f"{hl}/entries", token=self.analyst, body={"entries": [], "padding": padding}, expect=413)
        c.call("PATCH", f"{hl}/entries/{self.hl_entry}", token=self.analyst, body={"classification": {"uk_grade": "A"}, "padding": padding}, expect=413)
        c.call("POST", f"{hl}/entries/{self.hl_entry}/feedback", token=nl_token, body={"verdict": "confirmed", "comment": padding}, expect=413)
        c.call("POST", f"{hl}/feedback/{self.hl_open_feedback}/resolve", token=admin, body={"action": "keep", "note": padding}, expect=413)

    def collect_documents(self) -> None:
        c = self.c
        after: str | None = None
        for _ in range(100):
            params = {"limit": "3", **({"after": after} if after else {})}
            page = c.call("GET", "/v1/notices", token=self.admin, params=params, expect=200).json()
            if not page["notices"]:
                break
            for view in page["notices"]:
                if view["document"]["type"] == "referral":  # a peer's, checked against referral.schema.json
                    continue
                self.notice_documents.append(view["document"])
                self.notice_documents.append(jws_parts(view["jws"])[1])
            after = page["next_cursor"]
        assert len(self.notice_documents) >= 10, len(self.notice_documents)


@pytest.fixture(scope="module")
def scenario(openapi: OpenAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    gateway = SmallBodyGateway(tmp_path_factory.mktemp("openapi"), name="openapi")
    receiver = HookReceiver()
    try:
        receiver.start()
        gateway.start()
        run = Scenario(CheckedClient(gateway, openapi), receiver)
        try:
            run.run()
        except Exception as error:  # a fixture error has no log attached otherwise
            problems = "\n".join(run.c.problems)
            raise GatewayError(
                f"the scenario stopped: {error}\n\nproblems so far:\n{problems}\n\nlog:\n{gateway.log_tail(60)}"
            ) from error
        yield run
    finally:
        gateway.stop()
        receiver.stop()


# --- tests ------------------------------------------------------------------------------------------


def test_every_response_matches_the_openapi_document(scenario: Scenario):
    client = scenario.c
    assert client.responses > 150, client.responses
    assert not client.problems, (
        f"{len(client.problems)} of {client.responses} responses contradict Schemas/openapi.json:\n"
        + "\n".join(client.problems)
    )


def test_every_operation_is_exercised(scenario: Scenario, openapi: OpenAPI):
    missing = sorted(openapi.operations() - set(scenario.c.exercised), key=lambda op: (op[1], op[0]))
    assert not missing, "operations of openapi.json the scenario never called:\n" + "\n".join(f"{m} {p}" for m, p in missing)
    # and the scenario reached the error statuses it is meant to cover
    statuses = set().union(*scenario.c.exercised.values())
    assert {200, 201, 204, 304, 400, 401, 403, 404, 406, 409, 410, 413, 415, 422} <= statuses, sorted(statuses)


def test_overdue_notices_match_the_document(openapi: OpenAPI, tmp_path: Path):
    """With a deadline of about a second, open notices go overdue: `overdue=true` lists them, with a
    negative `time_left_seconds`, until they are removed."""
    gateway = Gateway(tmp_path / "overdue", name="overdue", extra_env={"TAKEDOWN_DEFAULT_DEADLINE_HOURS": "0.0003"})
    try:
        gateway.start()
        c, admin = CheckedClient(gateway, openapi), gateway.admin_token
        partner = c.call("POST", "/v1/partners", token=admin, expect=201,
                         body=partner_body(name=f"Late {tag()}", locale="en", jurisdiction="NL", domains=["late.test"])).json()
        case = {"reference": f"OVERDUE-{tag()}", "category": {"uk_grade": "C"}, "media_type": "image",
                "items": [item(f"https://late.test/{tag()}.jpg", full=False)]}
        [issued] = c.call("POST", "/v1/cases", token=admin, body=case, expect=201).json()["notices"]
        time.sleep(1.5)
        [late] = c.call("GET", "/v1/notices", token=admin, params={"status": "open", "overdue": "true"}, expect=200).json()["notices"]
        assert late["id"] == issued["id"] and late["time_left_seconds"] < 0, late
        [mine] = c.call("GET", "/v1/notices", token=partner["token"], params={"overdue": "true"}, expect=200).json()["notices"]
        assert mine["status"] == "delivered" and mine["time_left_seconds"] < 0, mine
        acknowledged = c.call("POST", f"/v1/notices/{issued['id']}/acknowledge", token=partner["token"], expect=200).json()
        assert acknowledged["time_left_seconds"] <= late["time_left_seconds"] < 0, (acknowledged, late)
        assert c.call("GET", "/v1/notices", token=admin, params={"status": "acknowledged", "overdue": "true"}, expect=200).json()["notices"]
        done = c.call("POST", f"/v1/notices/{issued['id']}/removal", token=partner["token"], body={"action": "removed"}, expect=200).json()
        assert done["status"] == "removed" and "time_left_seconds" not in done, done
        assert c.call("GET", "/v1/notices", token=admin, params={"overdue": "true"}, expect=200).json()["notices"] == []
        card = c.call("GET", f"/v1/partners/{partner['id']}/scorecard", token=partner["token"], expect=200).json()
        assert card["overall"]["removed_share"] == {"within_24h": 1, "within_72h": 1, "within_7d": 1}, card
        assert not c.problems, "\n".join(c.problems)
    finally:
        gateway.stop()


def test_the_validator_really_checks(openapi: OpenAPI, scenario: Scenario):
    """Guards the checker itself: references resolve and formats are checked."""
    view_pointer = "/components/schemas/NoticeView"
    problem = openapi.validator("/components/schemas/Problem")
    assert errors_of(problem, {"type": "x"}), "an incomplete problem validated"
    document = openapi.validator("/components/schemas/NoticeDocument")
    broken = copy.deepcopy(scenario.notice_documents[0])
    broken["issued_at"] = "2026-13-45T00:00:00.000Z"  # matches the pattern; only the format checker objects
    assert errors_of(document, broken), "an impossible date validated: formats are not checked"
    assert errors_of(openapi.validator(view_pointer), {"id": "ntc_x"}), "a NoticeView without its members validated"
    # the one-time webhook secret: required exactly when the new partner has a webhook
    created = openapi.validator("/components/schemas/PartnerCreated")
    with_hook = dict(scenario.hooked)
    assert not errors_of(created, with_hook), errors_of(created, with_hook)
    assert errors_of(created, {k: v for k, v in with_hook.items() if k != "webhook_secret"}), "a webhook partner without its secret validated"
    assert errors_of(created, {**with_hook, "delivery": {}}), "a secret for a partner without a webhook validated"


# --- the inlined notice schema ----------------------------------------------------------------------


def _replace(root: Any, path: tuple, value: Any) -> Any:
    value = copy.deepcopy(value)  # the mutant shares nothing with the original
    if not path:
        return value
    copied = copy.deepcopy(root)
    node = copied
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copied


def _delete(root: Any, path: tuple) -> Any:
    copied = copy.deepcopy(root)
    node = copied
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return copied


def mutations(document: Any) -> Iterator[tuple[str, Any]]:
    """(description, changed copy) for every node of `document`: removed, nulled, retyped, extended."""
    return _mutations(document, document, ())


def _mutations(root: Any, node: Any, path: tuple) -> Iterator[tuple[str, Any]]:
    where = "/" + "/".join(map(str, path))
    if path:
        yield f"delete {where}", _delete(root, path)
        yield f"null at {where}", _replace(root, path, None)
    if isinstance(node, dict):
        yield f"extra member in {where}", _replace(root, path, {**node, "x_extra": "surplus"})
        yield f"array for the object {where}", _replace(root, path, [node])
        for key, value in node.items():
            yield from _mutations(root, value, (*path, key))
    elif isinstance(node, list):
        yield f"empty list at {where}", _replace(root, path, [])
        yield f"string for the list {where}", _replace(root, path, "a")
        if node:
            yield f"duplicated entry in {where}", _replace(root, path, [*node, copy.deepcopy(node[0])])
        for index, value in enumerate(node):
            yield from _mutations(root, value, (*path, index))
    elif isinstance(node, bool):
        yield f"flipped {where}", _replace(root, path, not node)
        yield f"string for the boolean {where}", _replace(root, path, "true")
    elif isinstance(node, (int, float)):
        yield f"string for the number {where}", _replace(root, path, str(node))
        yield f"negative {where}", _replace(root, path, -1 - node)
        yield f"large {where}", _replace(root, path, 10**12)
        yield f"fraction {where}", _replace(root, path, node + 0.5)
    elif isinstance(node, str):
        yield f"number for the string {where}", _replace(root, path, 1)
        yield f"empty {where}", _replace(root, path, "")
        yield f"upper case {where}", _replace(root, path, node.upper())
        yield f"suffixed {where}", _replace(root, path, node + "!")
        yield f"surrounded by spaces {where}", _replace(root, path, f" {node} ")


def targeted_mutations(document: dict, required: list[str]) -> Iterator[tuple[str, Any]]:
    """Named breakages every notice must fail: an extra field, each required field missing, bad hashes and times."""
    hashes = ("items", 0, "hashes")
    yield "extra top-level field", {**document, "extra": 1}
    for key in required:
        yield f"missing required field {key}", _delete(document, (key,))
    yield "bad hash: upper-case sha256", _replace(document, (*hashes, "sha256"), "A" * 64)
    yield "bad hash: short sha256", _replace(document, (*hashes, "sha256"), "ab" * 31)
    yield "bad hash: md5 not hex", _replace(document, (*hashes, "md5"), "z" * 32)
    yield "bad hash: no hash at all", _replace(document, hashes, {})
    yield "bad hash: pdq_quality without pdq", _replace(document, hashes, {"sha256": "a" * 64, "pdq_quality": 50})
    yield "bad hash: photodna not base64", _replace(document, (*hashes, "photodna"), "not base64!")
    yield "bad hash: unknown algorithm", _replace(document, (*hashes, "ssdeep"), "3:abc")
    yield "bad timestamp: no milliseconds", _replace(document, ("issued_at",), "2026-11-29T08:00:57Z")
    yield "bad timestamp: offset", _replace(document, ("issued_at",), "2026-11-29T08:00:57.000+01:00")
    yield "bad timestamp: month 13", _replace(document, ("issued_at",), "2026-13-29T08:00:57.000Z")
    yield "bad timestamp: February 30", _replace(document, ("deadline_at",), "2026-02-30T08:00:57.000Z")
    yield "bad timestamp: words", _replace(document, ("issued_at",), "yesterday")
    yield "bad item timestamp", _replace(document, ("items", 0, "observed_at"), "2026-11-29 08:00:57.000Z")


def test_inlined_notice_schema_agrees_with_notice_schema(scenario: Scenario, openapi: OpenAPI):
    standalone = make_validator(NOTICE_SCHEMA_PATH, load_registry(sorted(SCHEMAS_DIR.glob("*.json"))))
    inlined = openapi.validator("/components/schemas/NoticeDocument")

    documents = scenario.notice_documents
    languages = {d.get("language") for d in documents}
    assert "de" in languages and "en" in languages, languages

    disagreements: list[str] = []
    verdicts = {"valid": 0, "invalid": 0}

    def compare(label: str, instance: Any) -> bool:
        a = errors_of(standalone, instance)
        b = errors_of(inlined, instance)
        if bool(a) != bool(b):
            disagreements.append(
                f"{label}: notice.schema.json says {'invalid: ' + a[0] if a else 'valid'}; "
                f"openapi.json#/components/schemas/NoticeDocument says {'invalid: ' + b[0] if b else 'valid'}"
            )
        verdicts["invalid" if a else "valid"] += 1
        return not a

    for index, document in enumerate(documents):
        label = f"notice {document.get('id')} ({'document' if index % 2 == 0 else 'JWS payload'})"
        assert compare(label, document), f"{label} is not valid by notice.schema.json: {errors_of(standalone, document)[:5]}"
        for name, mutant in targeted_mutations(document, standalone.schema["required"]):
            accepted = compare(f"{label}, {name}", mutant)
            assert not accepted, f"{label}, {name}: notice.schema.json accepts it"

    # every node of two documents (the richest and the poorest), changed every way
    by_size = sorted(documents, key=lambda d: len(json.dumps(d)))
    for document in (by_size[0], by_size[-1]):
        for name, mutant in mutations(document):
            compare(f"notice {document.get('id')}, {name}", mutant)

    assert verdicts["valid"] >= len(documents) and verdicts["invalid"] > 200, verdicts
    assert not disagreements, f"{len(disagreements)} verdicts differ:\n" + "\n".join(disagreements[:50])
