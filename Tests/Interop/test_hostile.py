"""Hostile requests against the built gateway (issue 10): nothing a client sends may crash, stall or 5xx it.

One gateway process (rate limits off, SMTP to a local aiosmtpd sink) takes, in turn:

- every header the gateway parses (Authorization, also on /metrics; Accept, Content-Type, If-None-Match,
  Accept-Encoding, Idempotency-Key; Host, Connection and Expect of the HTTP layer; Range, which it ignores)
  sent empty, `;`, `,;`, `text/html,;`, huge, repeated 100 times, with control characters (raw socket: bare
  CR, bare LF, NUL, DEL, obs-fold) and non-ASCII bytes;
- every path, query and header parameter of every operation in Schemas/openapi.json (ids, cursors, dates,
  numbers, enums, strings) sent malformed, empty, negative, huge, NaN/inf, percent-encoded, as UTF-8
  overlong sequences, fullwidth digits, with a leading `+`, padded, and repeated;
- JSON bodies for every operation that takes one: nested 10,000 deep, duplicate keys, every field of a
  valid body replaced by every wrong type (and every date field by every malformed date), invalid UTF-8,
  huge strings, a body over the limit, truncated;
- framing: chunked bodies with chunk size `zz` or cut short, Content-Length lies, request lines and
  header lines that break HTTP/1.1, a gzip bomb, `Expect: 100-continue` (a 100 must come), `CONNECT` and
  odd methods, HEAD on every GET route;
- CR/LF in every text field that reaches an email header: the raw message at the SMTP sink shows no
  injected header; labels refuse control and bidi characters; addresses are plain addr-specs;
- concurrent writes: one case per Idempotency-Key, one owner per routing domain;
- bad settings: `serve` refuses them (exit status 1, naming the variable), never traps;
- 2,000 idle connections held open while /healthz keeps answering in under 100 ms.

Every answer must be 2xx/304 or one of the 4xx in ACCEPTED, as application/problem+json when it is an
error; garbage at the framing level may instead have its connection closed. A 5xx, a hang (no answer in
IO_TIMEOUT), or an unexpected close is a finding. When the process dies, the request that killed it is
recorded and the gateway is restarted on the same port and data, so the rest of the suite still runs; the
last test then fails because the process is not the one that started. A second gateway with low limits
checks the rate limiter (429, Retry-After, RateLimit-*), the idle timeout (slow heads and bodies cut off)
and the connection cap. TAKEDOWN_HOSTILE_FINDINGS names a file that receives every finding.

The count of hostile requests is printed in the terminal summary, whatever the capture mode.
"""

from __future__ import annotations

import base64
import concurrent.futures
import email
import gzip
import email.policy
import http.client
import json
import os
import resource
import secrets
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote, unquote

import pytest
import requests
from aiosmtpd.controller import Controller

from conftest import SCHEMAS_DIR, Gateway, free_port, item, tag

# --- what counts as a good answer ---------------------------------------------------------------

# Error statuses a hostile request may get. 410 is the change feed's "resynchronise" answer, 414 a request
# line too long for the HTTP layer, 417 an Expect other than 100-continue (RFC 9110 §10.1.1); 2xx and 304 are
# fine where the request is legitimate after all.
ACCEPTED = {400, 401, 403, 404, 405, 406, 409, 410, 413, 414, 415, 417, 422, 429, 431}
# The HTTP layer refuses a request it cannot parse (a control character in a header, a head over its size
# limit) with a bare status and no body before any route sees it; that is a framing-level answer. So is the
# 405 to CONNECT: the HTTP/1 encoder writes no body for a response to CONNECT.
FRAMING_REFUSALS = {400, 405, 413, 414, 431}
IO_TIMEOUT = 10.0  # seconds without an answer: a hang
WORKERS = 4
HEALTHZ_BUDGET = 0.100  # seconds per /healthz probe while 2,000 idle connections are held
IDLE_CONNECTIONS = 2000
OPENAPI = json.loads((SCHEMAS_DIR / "openapi.json").read_text(encoding="utf-8"))
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The test process holds 2,000 sockets, and the gateway (started from it) inherits the limit.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _hard == resource.RLIM_INFINITY or _hard > 8192:
    _wanted = 8192
else:
    _wanted = _hard
if _soft != resource.RLIM_INFINITY and _soft < _wanted:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_wanted, _hard))


@dataclass
class Outcome:
    status: int | None = None
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    closed: bool = False  # the connection closed without an answer
    timeout: bool = False  # no answer within IO_TIMEOUT
    error: str = ""

    def describe(self) -> str:
        if self.timeout:
            return f"no answer within {IO_TIMEOUT:.0f} s ({self.error})"
        if self.status is None:
            return f"connection closed without an answer ({self.error})"
        return f"{self.status} {self.content_type or '(no content type)'} {self.body[:160]!r}"


class Ledger:
    """Every hostile request sent, by status, and every finding."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = 0
        self.statuses: Counter = Counter()
        self.findings: list[str] = []
        self.server_errors: list[str] = []

    def mark(self) -> int:
        with self.lock:
            return len(self.findings)

    def since(self, mark: int) -> list[str]:
        with self.lock:
            return self.findings[mark:]

    def finding(self, text: str) -> None:
        with self.lock:
            self.findings.append(text)

    @staticmethod
    def is_problem(body: bytes, status: int) -> bool:
        """An RFC 9457 document: a JSON object whose `status` is the response's."""
        try:
            document = json.loads(body)
        except ValueError:
            return False
        return isinstance(document, dict) and document.get("status") == status and isinstance(document.get("type"), str)

    def record(self, label: str, outcome: Outcome, *, allow_close: bool, head: bool = False) -> None:
        problem = None
        status = outcome.status
        if outcome.timeout:
            problem = "HANG"
        elif status is None:
            if not allow_close:
                problem = "CLOSED"
        elif status >= 500:
            problem = "5XX"
        elif 400 <= status < 500:
            if status not in ACCEPTED:
                problem = "UNEXPECTED STATUS"
            elif not head and not outcome.content_type.lower().startswith("application/problem+json"):
                framing = status in FRAMING_REFUSALS and not outcome.body and not outcome.content_type
                if not framing:
                    problem = "NOT PROBLEM+JSON"
            elif not head and not self.is_problem(outcome.body, status):
                problem = "EMPTY OR BROKEN PROBLEM BODY"
        elif not (200 <= status < 300 or status == 304):
            problem = "UNEXPECTED STATUS"
        with self.lock:
            self.sent += 1
            self.statuses["closed" if status is None else status] += 1
            if problem:
                text = f"{problem}: {label} -> {outcome.describe()}"
                self.findings.append(text)
                if problem == "5XX":
                    self.server_errors.append(text)


LEDGER = Ledger()


def fail_on_findings(mark: int, what: str) -> None:
    found = LEDGER.since(mark)
    if found:
        shown = "\n".join(found[:60])
        more = f"\n… and {len(found) - 60} more" if len(found) > 60 else ""
        pytest.fail(f"{len(found)} finding(s) in {what}:\n{shown}{more}", pytrace=False)


# --- transports ---------------------------------------------------------------------------------


def read_response(sock: socket.socket, method: str = "GET") -> Outcome:
    """One response from a socket (interim 1xx skipped by http.client), or what went wrong."""
    response = http.client.HTTPResponse(sock, method=method)
    try:
        response.begin()
        body = response.read()
    except (socket.timeout, TimeoutError) as error:
        return Outcome(timeout=True, error=repr(error))
    except (http.client.RemoteDisconnected, http.client.IncompleteRead, ConnectionError, http.client.BadStatusLine) as error:
        return Outcome(closed=True, error=repr(error))
    except (http.client.HTTPException, OSError) as error:
        return Outcome(closed=True, error=repr(error))
    headers = {k.lower(): v for k, v in response.getheaders()}
    return Outcome(status=response.status, content_type=headers.get("content-type", ""), headers=headers, body=body)


def raw_exchange(port: int, data: bytes | list[bytes], *, method: str = "GET", half_close: bool = False,
                 timeout: float = IO_TIMEOUT) -> Outcome:
    """Bytes on a fresh connection, then the first answer (or the close, or the silence)."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as error:
        return Outcome(closed=True, error=f"connect: {error!r}")
    try:
        sock.settimeout(timeout)
        try:
            for chunk in data if isinstance(data, list) else [data]:
                sock.sendall(chunk)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            # The server may answer and close before it has read everything.
            outcome = read_response(sock, method)
            if outcome.status is None:
                outcome.error = f"send: {error!r}; {outcome.error}"
            return outcome
        return read_response(sock, method)
    finally:
        sock.close()


class KeepAlive:
    """One keep-alive connection per thread and gateway generation, reopened whenever it closes."""

    def __init__(self) -> None:
        self.local = threading.local()

    def connection(self, port: int, generation: int) -> tuple[http.client.HTTPConnection, bool]:
        key = (port, generation)
        conn = getattr(self.local, "conns", {}).get(key)
        if conn is not None:
            return conn, True
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
        self.local.conns = {**getattr(self.local, "conns", {}), key: conn}
        return conn, False

    def drop(self, port: int, generation: int) -> None:
        conns = getattr(self.local, "conns", {})
        conn = conns.pop((port, generation), None)
        if conn is not None:
            conn.close()

    def exchange(self, port: int, generation: int, method: str, target: str, headers: list[tuple[str, Any]],
                 body: bytes | None) -> Outcome:
        for attempt in range(2):
            conn, reused = self.connection(port, generation)
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                names = {name.lower() for name, _ in headers}
                if "host" not in names:
                    conn.putheader("Host", f"127.0.0.1:{port}")
                for name, value in headers:
                    conn.putheader(name, value)
                if body is not None and "content-length" not in names and "transfer-encoding" not in names:
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                response = conn.getresponse()
                payload = response.read()
                hdrs = {k.lower(): v for k, v in response.getheaders()}
                if response.will_close:
                    self.drop(port, generation)
                return Outcome(status=response.status, content_type=hdrs.get("content-type", ""), headers=hdrs, body=payload)
            except (socket.timeout, TimeoutError) as error:
                self.drop(port, generation)
                return Outcome(timeout=True, error=repr(error))
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine,
                    http.client.IncompleteRead, BrokenPipeError) as error:
                self.drop(port, generation)
                if reused and attempt == 0:
                    continue  # the server closed an idle keep-alive connection: once more on a new one
                return Outcome(closed=True, error=repr(error))
            except (http.client.HTTPException, OSError) as error:
                self.drop(port, generation)
                return Outcome(closed=True, error=repr(error))
        return Outcome(closed=True, error="unreachable")


KEEPALIVE = KeepAlive()


# --- the gateway under attack -----------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def smtp_env(port: int) -> dict[str, str]:
    """A plain-SMTP relay on loopback, as the email tests configure it."""
    return {
        "TAKEDOWN_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "TAKEDOWN_SMTP_FROM": "notices@hotline.test",
        "TAKEDOWN_SMTP_PLAIN": "1",  # aiosmtpd offers no STARTTLS
        "TAKEDOWN_SMTP_ALLOW_PRIVATE_RELAY": "1",  # the relay is on loopback
        "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",  # the webhooks go to a dead port on loopback
    }


class Target:
    """The gateway under attack: its tokens and ids, and what to do when it dies."""

    def __init__(self, gateway: Gateway, inbox: Inbox) -> None:
        self.gateway = gateway
        self.inbox = inbox
        self.pid = gateway.proc.pid
        self.generation = 0
        self.crashes: list[str] = []
        self.lock = threading.Lock()
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.urls: dict[str, str] = {}

    @property
    def port(self) -> int:
        return self.gateway.port

    def alive(self) -> bool:
        """Whether the process still serves: /healthz on a new connection, else wait for its exit."""
        proc = self.gateway.proc
        if proc is None or proc.poll() is not None:
            return False
        probe = raw_exchange(self.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5)
        if probe.status == 200:
            return True
        try:
            proc.wait(timeout=3)
            return False
        except Exception:
            return proc.poll() is None

    def after_silence(self, label: str, generation: int) -> str:
        """A request got no answer: "alive", "restarted" (by another thread meanwhile) or "died" (restarted now)."""
        with self.lock:
            if self.generation != generation:
                return "restarted"
            if self.alive():
                return "alive"
            rc = self.gateway.proc.poll() if self.gateway.proc else None
            text = f"CRASH: the gateway process exited (status {rc}) while this was in flight: {label}"
            self.crashes.append(text)
            LEDGER.finding(text)
            self.gateway.restart()
            self.generation += 1
            return "died"

    def deliver(self, label: str, attempt: Callable[[int], Outcome], *, allow_close: bool, head: bool = False) -> Outcome:
        """Sends once; when the process died meanwhile, sends again to learn whether this request killed it."""
        killed = 0
        for _ in range(4):
            generation = self.generation
            outcome = attempt(generation)
            if outcome.status is not None:
                break
            state = self.after_silence(label, generation)
            if state == "alive":
                break
            if state == "died":
                killed += 1
                if killed == 2:
                    text = f"CRASH (reproduced): this request kills the gateway: {label}"
                    self.crashes.append(text)
                    LEDGER.finding(text)
                    LEDGER.record(label, outcome, allow_close=True)
                    return outcome
        LEDGER.record(label, outcome, allow_close=allow_close, head=head)
        return outcome

    # sending

    def auth(self, token: str | None) -> list[tuple[str, Any]]:
        if token is None:
            return []
        return [("Authorization", f"Bearer {self.tokens.get(token, token)}")]

    def send(self, label: str, method: str, target: str, *, token: str | None = "admin",
             headers: Iterable[tuple[str, Any]] = (), body: bytes | dict | list | None = None,
             content_type: str | None = "application/json", allow_close: bool = False) -> Outcome:
        hdrs = self.auth(token) + list(headers)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        if body is not None and content_type and not any(n.lower() == "content-type" for n, _ in hdrs):
            hdrs.append(("Content-Type", content_type))
        return self.deliver(
            f"{label} [{method} {target[:160]}]",
            lambda generation: KEEPALIVE.exchange(self.port, generation, method, target, hdrs, body),
            allow_close=allow_close, head=method == "HEAD")

    def raw(self, label: str, data: bytes | list[bytes], *, method: str = "GET", half_close: bool = False,
            allow_close: bool = True, timeout: float = IO_TIMEOUT) -> Outcome:
        return self.deliver(
            f"{label} [raw]",
            lambda generation: raw_exchange(self.port, data, method=method, half_close=half_close, timeout=timeout),
            allow_close=allow_close, head=method == "HEAD")

    def many(self, jobs: list[Callable[[], Any]]) -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for future in [pool.submit(job) for job in jobs]:
                future.result()

    def request_head(self, method: str, target: str, token: str | None = "admin",
                     extra: list[bytes] = (), body: bytes = b"") -> bytes:
        """A request head as raw bytes, with a token and a Content-Length when there is a body."""
        lines = [f"{method} {target} HTTP/1.1".encode(), f"Host: 127.0.0.1:{self.port}".encode()]
        if token is not None:
            lines.append(f"Authorization: Bearer {self.tokens.get(token, token)}".encode())
        lines += list(extra)
        if body and not any(line.lower().startswith((b"content-length", b"transfer-encoding")) for line in extra):
            lines.append(b"Content-Length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


def json_call(gateway: Gateway, method: str, path: str, token: str, body: Any = None, expect: int = 200) -> Any:
    response = gateway.request(method, path, token=token, body=body, expect=expect)
    return response.json() if response.content else None


def seed(target: Target, inbox_port: int) -> None:
    """Tokens, partners, a case with notices and deliveries, a hash list with a version and feedback, a policy."""
    g = target.gateway
    admin = g.admin_token
    target.tokens["admin"] = admin
    analyst = json_call(g, "POST", "/v1/tokens", admin, {"role": "analyst", "name": "hostile analyst"}, 201)
    target.tokens["analyst"] = analyst["token"]
    suffix = tag()
    partners = {}
    for key in ("a", "b"):
        partners[key] = json_call(g, "POST", "/v1/partners", admin, {
            "name": f"Hostile Hosting {key.upper()} {suffix}", "kind": "hosting_provider",
            "contact_email": f"abuse@hostile-{key}-{suffix}.test", "locale": "en", "jurisdiction": "GB",
            "routing": {"domains": [f"hostile-{key}-{suffix}.test"], "ip_ranges": []},
            "delivery": {"webhook_url": "http://127.0.0.1:9/hook", "email": f"takedown@hostile-{key}-{suffix}.test"},
        }, 201)
    target.tokens["partner"] = partners["a"]["token"]
    target.tokens["partner_b"] = partners["b"]["token"]
    target.ids["partner_id"] = partners["a"]["id"]
    target.ids["partner_b"] = partners["b"]["id"]
    target.urls["a"] = f"https://cdn.hostile-a-{suffix}.test/x/{tag()}.jpg"
    target.urls["unrouted"] = f"https://unrouted-{suffix}.test/y/{tag()}.jpg"
    case = json_call(g, "POST", "/v1/cases", target.tokens["analyst"], {
        "reference": f"HOSTILE-{suffix}", "category": {"uk_grade": "A", "classification": "A1"}, "media_type": "image",
        "items": [item(target.urls["a"]), item(f"https://cdn.hostile-b-{suffix}.test/z/{tag()}.jpg"), item(target.urls["unrouted"])],
    }, 201)
    target.ids["case_id"] = case["id"]
    by_partner = {n["partner_id"]: n["id"] for n in case["notices"]}
    target.ids["notice_id"] = by_partner[partners["a"]["id"]]
    target.ids["notice_b"] = by_partner[partners["b"]["id"]]
    deliveries = json_call(g, "GET", f"/v1/deliveries?notice_id={target.ids['notice_id']}", admin)["deliveries"]
    target.ids["delivery_id"] = deliveries[0]["id"]
    spare = json_call(g, "POST", f"/v1/partners/{partners['a']['id']}/tokens", admin, {"name": "spare"}, 201)
    target.ids["token_id"] = spare["id"]
    hash_list = json_call(g, "POST", "/v1/hash-lists", admin, {
        "name": f"Hostile list {suffix}", "audience": "hosting_provider", "hash_types": ["sha256", "md5"],
        "include": {"uk_grades": ["A", "B"]}, "partners": [partners["a"]["id"]],
    }, 201)
    target.ids["list_id"] = hash_list["id"]
    entries = json_call(g, "POST", f"/v1/hash-lists/{hash_list['id']}/entries", target.tokens["analyst"], {"entries": [
        {"media_type": "image", "hashes": {"sha256": secrets.token_hex(32)}, "classification": {"uk_grade": "A", "classification": "A1"}},
        {"media_type": "video", "hashes": {"md5": secrets.token_hex(16)}, "classification": {"uk_grade": "B"}},
    ]}, 201)["entries"]
    target.ids["entry_id"] = entries[0]["id"]
    g.request("POST", f"/v1/hash-lists/{hash_list['id']}/publish", token=admin, expect=None)
    feedback = json_call(g, "POST", f"/v1/hash-lists/{hash_list['id']}/entries/{entries[1]['id']}/feedback",
                         target.tokens["partner"], {"verdict": "false_positive", "comment": "not ours"}, 201)
    target.ids["feedback_id"] = feedback["id"]
    policy = json_call(g, "POST", "/v1/sla-policies", admin, {
        "name": f"Hostile policy {suffix}", "deadline_seconds": 7200,
        "ladder": [{"after_seconds": 3600, "action": "reminder"}],
    }, 201)
    target.ids["sla_policy_id"] = policy["id"]
    target.ids["version"] = "1"
    changes = g.request("GET", f"/v1/hash-lists/{hash_list['id']}/changes?limit=1", token=target.tokens["partner"])
    target.ids["feed_cursor"] = changes.headers.get("takedown-next-cursor", "")
    page = json_call(g, "GET", "/v1/notices?limit=1", admin)
    target.ids["notices_cursor"] = page.get("next_cursor", "")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory):
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    gateway = Gateway(tmp_path_factory.mktemp("hostile"), name="hostile", extra_env={
        **smtp_env(smtp_port),
        "TAKEDOWN_RATE_LIMITS": "off",
        "TAKEDOWN_RETRY_SCHEDULE": "0",  # a webhook to the dead port dies at once instead of retrying
        "TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS": "2",
        "TAKEDOWN_MAX_HEAVY_PER_PARTNER": "64",
        "TAKEDOWN_METRICS_TOKEN": "metrics-" + secrets.token_urlsafe(24),  # so /metrics reads Authorization
    })
    try:
        gateway.start()
        found = Target(gateway, inbox)
        seed(found, smtp_port)
        yield found
    finally:
        gateway.stop()
        controller.stop()


@pytest.fixture(scope="module", autouse=True)
def _hostile_summary(request: pytest.FixtureRequest):
    if not request.config.pluginmanager.has_plugin("hostile-summary"):
        request.config.pluginmanager.register(_Summary(), "hostile-summary")
    yield


class _Summary:
    """Prints the count of hostile requests at the end of the run, whatever the capture mode."""

    def pytest_terminal_summary(self, terminalreporter) -> None:
        dump = os.environ.get("TAKEDOWN_HOSTILE_FINDINGS")
        if dump:  # every finding, for whoever fixes them
            Path(dump).write_text("\n".join(LEDGER.findings) + "\n", encoding="utf-8")
        if LEDGER.sent:
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(LEDGER.statuses.items(), key=lambda kv: str(kv[0])))
            terminalreporter.write_line(f"hostile requests sent: {LEDGER.sent} ({statuses})")
            terminalreporter.write_line(f"hostile findings: {len(LEDGER.findings)}; 5xx answers: {len(LEDGER.server_errors)}")


# --- values -------------------------------------------------------------------------------------------


def b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# Already in URL form: each is placed in a path segment or a query value as it is.
GENERIC = [
    "", "%20", "%00", "%FF", "%C0%AF", "%E0%80%AF", "..", "..%2F..%2Fetc%2Fpasswd", "%2E%2E", "a%2Fb", "%5C",
    "'", "%22", "%27%20OR%201%3D1--", "%3B", "%2C%3B", "text%2Fhtml%2C%3B", "null", "true", "%5B%5D", "%7B%7D",
    "a" * 5000, "%F0%9F%98%80", "%E2%80%AE", "%0D%0ASet-Cookie:%20x=1", "%0A", "%0D", "%7F", "%25", "%", "%zz",
    "%u0041", "-1", str(10**30), str(2**63), str(2**64), "NaN", "inf", "-inf", "%EF%BC%91", "%2B1", "+1",
]
NUMBERS = [
    "0", "-1", "-0", "1", "01", "1.0", "1.5", "1e3", "1E3", "0x10", "0b1", "0o7", "1_000", "1%2C000", "1%3B2",
    str(10**30), str(2**63 - 1), str(2**63), str(2**64), str(-(2**63)), str(-(2**63) - 1), "9" * 400,
    "NaN", "nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "%EF%BC%91%EF%BC%90", "%D9%A1", "%E2%91%A0",
    "%C0%B1", "%201", "1%20", "%091", "1%00", "%31", "%2B10", "+10", "%20%2B10%20", "10%0A", "0000000000000000000001",
]
DATES = [
    "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "0000-01-01T00:00:00Z",
    "0000-00-00T00:00:00Z", "9999-12-31T23:59:60Z", "2026-12-31T23:59:60Z", "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:00%2B24:00", "2026-01-01T00:00:00%2B23:59", "2026-01-01T00:00:00-23:59", "2026-01-01T00:00:00.",
    "2026-01-01T00:00:00." + "9" * 19 + "Z", "2026-01-01T00:00:00." + "9" * 400 + "Z", "2026-01-01T00:00:00.5Z",
    "2026-01-01%2000:00:00Z", "2026-01-01T00:00:00", "2026-01-01", "-2026-01-01T00:00:00Z", "%2B2026-01-01T00:00:00Z",
    "%EF%BC%92026-01-01T00:00:00Z", "20260101T000000Z", "2026-01-01T00:00:00ZZ", "2026-01-01t00:00:00z",
    "99999-01-01T00:00:00Z", "2026-01-01T00:00:00%00Z", "1e30", "0", "now", "2026-01-01T00:00:00+00:00",
    "2026-01-01T00:00:00.000000000000000000000000000001Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59%2B23:59",
]


def cursor_values(valid: str) -> list[str]:
    return [
        b64("p-1"), b64("p"), b64("p" + str(2**63)), b64("p" + str(2**64)), b64("p" + "9" * 30), b64("p1.5"),
        b64("p+1"), b64("p 1"), b64("p１"), b64("p0x10"), b64("q1"), b64("p1\x00"), b64("p1") + "%3D",
        b64("p1") + "%3D%3D", "cD", "c", "cD%2B%2F", "%FF", "%3D", "%3D%3D%3D%3D", b64(b"\xff\xfe\xfd"),
        b64("p" + "1" * 100), "A" * 33, "A" * 10000, valid + "x", valid.upper(), valid + "%00", "%20" + valid,
        b64("p９"), b64("p-0"), b64("p00000000000000000001"), b64("p9223372036854775807"),
    ]


def id_values(prefix: str, valid: str) -> list[str]:
    return [
        prefix, prefix + "0", prefix + "0" * 32, prefix + "0" * 33, prefix + "IIII", prefix.upper() + "0" * 26,
        prefix + "%00", prefix + "%EF%BC%90", prefix + "0" * 10000, quote(valid, safe="").replace("_", "%5F"),
        valid + "%2F", valid + ".json", valid.upper(), valid + "%00", "%20" + valid, valid + "%20", valid + "%0A",
        valid[:-1], valid + valid, "%" + valid,
    ]


def enum_values(choices: list[str]) -> list[str]:
    values = ["", "%00", "TRUE", "1", "0", "yes", "%EF%BD%94rue"]
    for choice in choices[:3]:
        values += [choice.upper(), "%20" + choice, choice + "%20", choice + "%00", f"{choice}%2C{choice}",
                   "".join(f"%{b:02X}" for b in choice.encode()), choice * 100, choice + "%0D%0A"]
    return values


def header_values() -> list[tuple[str, Any]]:
    """Values http.client will send (no CR/LF); control characters go over a raw socket."""
    return [
        ("empty", ""), ("semicolon", ";"), ("comma-semicolon", ",;"), ("text/html,;", "text/html,;"), (";,", ";,"),
        (",", ","), (";;", ";;"), ("q=NaN", "*/*;q=NaN"), ("q=1e400", "*/*;q=1e400"), ("q=-1", "application/json;q=-1"),
        ("params only", ";q=1"), ("open quote", 'a/b;c="'), ("quotes", '"' * 64), ("star", "*"), ("slash", "/"),
        ("tab", "\t"), ("W/", "W/"), ('W/"', 'W/"'), ("1000 commas", "," * 1000), ("1000 semicolons", ";" * 1000),
        ("json, ;", "application/json, ;"), ("jose;;", "application/jose;;;"), ("=;=", "=;="), ("bearer only", "Bearer"),
        ("bearer space", "Bearer "), ("basic", "Basic Zm9vOmJhcg=="), ("bearer empty token", "Bearer    "),
        ("64 KiB", "a" * 65536), ("64 KiB of ,;", ",;" * 32768), ("256 KiB", "b" * 262144),
        ("latin-1 byte", b"caf\xe9"), ("utf-8", "über".encode()), ("invalid utf-8", b"\xc0\xaf\xff\xfe"),
        ("emoji", "😀".encode()), ("bidi override", "\u202e".encode()), ("overlong", b"\xe0\x80\xaf"),
    ]


RAW_CONTROL = [
    ("bare CR", b"a\rb"), ("bare LF", b"a\nX-Injected: 1"), ("NUL", b"a\x00b"), ("DEL", b"a\x7fb"),
    ("SOH", b"\x01"), ("obs-fold", b"a\r\n b"), ("leading space", b" ;"), ("ESC", b"\x1b[31m"),
]


# --- 1. headers ------------------------------------------------------------------------------------


def header_targets(t: Target) -> dict[str, list[tuple[str, str, str | None, Any]]]:
    """For each header the gateway parses: (method, path, token, body) of the requests that read it."""
    n, lst, v = t.ids["notice_id"], t.ids["list_id"], t.ids["version"]
    case_body = {"reference": f"HDR-{tag()}", "category": {"uk_grade": "C"}, "media_type": "image",
                 "items": [item(f"https://hdr-{tag()}.unrouted.test/a.jpg")]}
    return {
        "Authorization": [("GET", "/v1/notices", None, None), ("POST", "/v1/cases", None, case_body),
                          ("GET", "/v1/hash-lists", None, None), ("GET", "/metrics", None, None)],
        "Accept": [("GET", f"/v1/notices/{n}", "partner", None), ("GET", f"/v1/notices/{n}", "admin", None),
                   ("GET", "/v1/notices", "partner", None), ("GET", f"/v1/notices/{n}/xarf", "partner", None),
                   ("GET", "/healthz", None, None), ("GET", "/openapi.json", None, None),
                   ("GET", "/.well-known/jwks.json", None, None)],
        "Content-Type": [("POST", "/v1/cases", "analyst", case_body),
                         ("POST", f"/v1/notices/{n}/acknowledge", "partner", {}),
                         ("PATCH", f"/v1/partners/{t.ids['partner_b']}", "admin", {"locale": "en"})],
        "If-None-Match": [("GET", f"/v1/hash-lists/{lst}/changes", "partner", None),
                          ("GET", f"/v1/hash-lists/{lst}/versions/{v}/manifest", "partner", None),
                          ("GET", f"/v1/hash-lists/{lst}/versions/{v}/export?format=ndjson", "partner", None)],
        "Accept-Encoding": [("GET", f"/v1/hash-lists/{lst}/versions/{v}/export?format=csv", "partner", None),
                            ("GET", "/v1/notices", "partner", None)],
        "Idempotency-Key": [("POST", "/v1/cases", "analyst", case_body)],
        # not parsed by the gateway today: it must be ignored safely (or served right, if ranges come)
        "Range": [("GET", f"/v1/hash-lists/{lst}/versions/{v}/export?format=csv", "partner", None)],
        "Host": [("GET", "/healthz", None, None), ("GET", "/v1/notices", "partner", None)],
        "Connection": [("GET", "/v1/notices", "partner", None)],
        "Expect": [("POST", "/v1/cases", "analyst", case_body)],
    }


def test_every_parsed_header_malformed(target: Target):
    """Sequential, so the request that kills the gateway is named exactly."""
    mark = LEDGER.mark()
    t = target
    for header, endpoints in header_targets(t).items():
        for method, path, token, body in endpoints:
            data = json.dumps(body).encode() if body is not None else None
            for label, value in header_values():
                if header == "Host" and isinstance(value, str) and len(value) > 1000:
                    continue
                t.send(f"{header}: {label}", method, path, token=token, headers=[(header, value)], body=data,
                       allow_close=header in ("Host", "Connection", "Expect"))
            # the same header 100 times, plain and malformed
            for label, value in (("x100 valid-looking", "application/json"), ("x100 ;", ";"), ("x100 ,;", ",;")):
                t.send(f"{header}: {label}", method, path, token=token, headers=[(header, value)] * 100, body=data,
                       allow_close=header in ("Host", "Connection", "Expect"))
            # control characters and raw bytes: a raw socket, since http.client refuses them
            for label, value in RAW_CONTROL:
                head = t.request_head(method, path, token, extra=[header.encode() + b": " + value],
                                      body=data or b"")
                t.raw(f"{header}: {label} on {method} {path}", head, method=method)
    fail_on_findings(mark, "malformed headers")


@pytest.mark.parametrize("accept", [";", ",;", "text/html,;", "application/json, ;", ";,;", " ; "])
def test_accept_made_of_semicolons_is_answered(target: Target, accept: str):
    """Issue 10: `Accept: ;` (any part made only of semicolons) on GET /v1/notices/{id} trapped the process."""
    t = target
    for token in ("partner", "admin"):
        outcome = t.send(f"Accept {accept!r} as {token}", "GET", f"/v1/notices/{t.ids['notice_id']}", token=token,
                         headers=[("Accept", accept)])
        assert outcome.status in (200, 406), outcome.describe()
        if outcome.status == 200:
            assert outcome.content_type.startswith("application/json"), outcome.describe()
    assert not [c for c in t.crashes if repr(accept) in c], t.crashes


def test_authorization_shapes(target: Target):
    mark = LEDGER.mark()
    t = target
    shapes = ["Bearer", "Bearer ", "bearer " + t.tokens["partner"], "BEARER " + t.tokens["partner"],
              "Bearer  " + t.tokens["partner"], "Bearer " + t.tokens["partner"] + " extra", "Bearer tdk_",
              "Bearer tdk_" + "A" * 10000, "Bearer " + "%00" * 10, "Token " + t.tokens["partner"],
              "Bearer " + t.tokens["partner"][:-1], "Bearer\t" + t.tokens["partner"], "Basic " + b64("a:b"),
              "Bearer " + t.tokens["partner"] + "," + "Bearer x", ",", ";", "Bearer ;", "Digest a=b"]
    for shape in shapes:
        for path in ("/v1/notices", f"/v1/notices/{t.ids['notice_id']}", "/v1/partners"):
            t.send(f"Authorization shape {shape[:40]!r}", "GET", path, token=None, headers=[("Authorization", shape)])
    # two Authorization headers: a valid one and a broken one, in both orders
    for pair in ([t.tokens["partner"], ";"], [";", t.tokens["partner"]], [t.tokens["partner"], t.tokens["admin"]]):
        t.send("two Authorization headers", "GET", "/v1/notices", token=None,
               headers=[("Authorization", f"Bearer {p}") for p in pair])
    fail_on_findings(mark, "Authorization shapes")


# --- 2. parameters of every operation in the OpenAPI document -------------------------------------------


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = OPENAPI
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def operations() -> list[tuple[str, str, list[dict], dict]]:
    found = []
    for path, path_item in OPENAPI["paths"].items():
        shared = [resolve(p) for p in path_item.get("parameters", [])]
        for method, op in path_item.items():
            if method not in HTTP_METHODS:
                continue
            found.append((method.upper(), path, shared + [resolve(p) for p in op.get("parameters", [])], op))
    return found


PATH_PREFIXES = {"partner_id": "ptn_", "case_id": "case_", "notice_id": "ntc_", "token_id": "tok_",
                 "delivery_id": "dlv_", "list_id": "hl_", "entry_id": "hle_", "feedback_id": "hfb_",
                 "sla_policy_id": "sla_"}
DATE_PARAMS = {"from", "to", "created_from", "created_to", "since", "until", "removed_at", "before"}


def param_values(t: Target, param: dict, valid: str, first: bool = True) -> list[str]:
    """The hostile values of one parameter. Every route parses a path id with the same function, so the
    generic list goes to the first route with that id, the id-shaped values to every one."""
    name = param["name"]
    schema = resolve(param.get("schema", {}))
    if param["in"] == "path":
        generic = GENERIC if first else []
        if name == "version":
            return ["0", "-1", "01", "LATEST", "latest%00", "1.0", str(10**30), str(2**63), str(2**64), "9" * 18,
                    "9" * 19, "%2B1", "1e3", "%EF%BC%91", "%C0%B1", " 1".replace(" ", "%20")] + generic
        prefix = PATH_PREFIXES.get(name, "x_")
        return id_values(prefix, valid) + generic
    if name == "after":
        return cursor_values(valid or b64("p1")) + GENERIC
    if name == "limit" or schema.get("type") == "integer":
        return NUMBERS + GENERIC
    if name in DATE_PARAMS or schema.get("format") == "date-time":
        return DATES + GENERIC
    choices = [str(c) for c in schema.get("enum", []) if c is not None]
    if schema.get("type") == "boolean":
        choices = ["true", "false"]
    if choices:
        return enum_values(choices) + GENERIC
    if name.endswith("_id"):
        return id_values(PATH_PREFIXES.get(name, "x_"), t.ids.get(name, "x_0")) + GENERIC
    return GENERIC + ["a" * 70000]


def valid_path_value(t: Target, name: str) -> str:
    return t.ids.get(name, "x")


def base_bodies(t: Target) -> dict[tuple[str, str], Any]:
    """A valid body for each operation that takes one (what the wrong-type mutations start from)."""
    ids, s = t.ids, tag()
    return {
        ("POST", "/v1/partners"): {
            "name": f"Body Hosting {s}", "kind": "hosting_provider", "contact_email": f"abuse@body-{s}.test",
            "locale": "en", "jurisdiction": "GB", "routing": {"domains": [f"body-{s}.test"], "ip_ranges": ["198.18.7.0/24"]},
            "delivery": {"email": f"takedown@body-{s}.test"}},
        ("PATCH", "/v1/partners/{partner_id}"): {"name": f"Hostile Hosting B {s}", "locale": "en", "jurisdiction": "GB"},
        ("POST", "/v1/partners/{partner_id}/tokens"): {"name": "body token"},
        ("POST", "/v1/partners/{partner_id}/endpoints/recover"): {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z"},
        ("POST", "/v1/tokens"): {"role": "analyst", "name": "body token"},
        ("POST", "/v1/cases"): {"reference": f"BODY-{s}", "category": {"uk_grade": "B", "classification": "B1"},
                                "media_type": "image", "notes": "synthetic",
                                "items": [item(f"https://body-{s}.unrouted.test/a.jpg", ip="198.51.100.9")]},
        ("POST", "/v1/cases/{case_id}/route"): {"url": t.urls["unrouted"], "partner_id": ids["partner_b"]},
        ("POST", "/v1/notices/{notice_id}/acknowledge"): {},
        ("POST", "/v1/notices/{notice_id}/removal"): {"action": "removed", "removed_at": None, "urls": [t.urls["a"]]},
        ("POST", "/v1/notices/{notice_id}/unable"): {"reason": "cannot act"},
        ("POST", "/v1/notices/{notice_id}/dispute"): {"reason": "not ours"},
        ("POST", "/v1/notices/{notice_id}/withdraw"): {"reason": "sent in error"},
        ("POST", "/v1/hash-lists"): {"name": f"Body list {s}", "audience": "hosting_provider", "hash_types": ["sha256"],
                                     "include": {"uk_grades": ["C"]}, "partners": []},
        ("PATCH", "/v1/hash-lists/{list_id}"): {"name": f"Hostile list renamed {s}", "partners": [ids["partner_id"]]},
        ("POST", "/v1/hash-lists/{list_id}/entries"): {"entries": [
            {"media_type": "image", "hashes": {"sha256": secrets.token_hex(32), "md5": secrets.token_hex(16)},
             "classification": {"uk_grade": "A", "classification": "A2"}}]},
        ("PATCH", "/v1/hash-lists/{list_id}/entries/{entry_id}"): {"classification": {"uk_grade": "A", "classification": "A1"}},
        ("POST", "/v1/hash-lists/{list_id}/entries/{entry_id}/feedback"): {"verdict": "confirmed", "comment": "checked"},
        ("POST", "/v1/hash-lists/{list_id}/feedback/{feedback_id}/resolve"): {"action": "keep", "reason": None, "note": "kept"},
        ("POST", "/v1/sla-policies"): {"name": f"Body policy {s}", "deadline_seconds": 3600,
                                       "ladder": [{"after_seconds": 60, "action": "reminder"}], "escalation_partner_id": None},
    }


PARTNER_READS = ("/v1/notices", "/v1/hash-lists", "/v1/partners/{partner_id}", "/v1/tokens")


def token_for(method: str, path: str) -> str:
    if any(path.endswith(suffix) for suffix in ("/acknowledge", "/removal", "/unable", "/dispute")):
        return "partner"
    return "admin"


def fill(t: Target, path: str, values: dict[str, str]) -> str:
    result = path
    for name in PATH_PREFIXES.keys() | {"version"} | set(values):
        result = result.replace("{" + name + "}", values.get(name, valid_path_value(t, name)))
    return result


def test_every_parameter_of_every_operation_malformed(target: Target):
    mark = LEDGER.mark()
    t = target
    bodies = base_bodies(t)
    jobs: list[Callable[[], Any]] = []
    valid_query = {"after": t.ids.get("notices_cursor", ""), "format": "ndjson"}
    seen_path_params: set[str] = set()
    for method, path, params, op in operations():
        body = bodies.get((method, path))
        if body is None and "requestBody" in op:
            body = {}
        data = json.dumps(body).encode() if body is not None else None
        tokens = [token_for(method, path)]
        if method == "GET" and tokens == ["admin"] and path.startswith(PARTNER_READS):
            tokens.append("partner")  # the routes a partner reads parse its requests in their own way
        base_query = "?format=ndjson" if path.endswith("/export") else ""
        for param in params:
            name, where = param["name"], param["in"]
            valid = valid_path_value(t, name) if where == "path" else valid_query.get(name, "")
            if where == "path":
                first = name not in seen_path_params
                seen_path_params.add(name)
                targets = [(f"{name}={v[:40]}", fill(t, path, {name: v}) + base_query)
                           for v in param_values(t, param, valid, first)]
            elif where == "query":
                sep = "&" if base_query else "?"
                values = param_values(t, param, valid)
                targets = [(f"{name}={v[:40]}", f"{fill(t, path, {})}{base_query}{sep}{name}={v}") for v in values]
                # empty and odd query shapes, repeated parameters
                odd = [f"{name}", f"{name}=", f"{name}[]=1", f"={valid or 1}", f"{name}=1;{name}=2",
                       "&".join([f"{name}={valid or 'a'}"] * 100), "&".join([f"{name}=%3B"] * 100) + f"&{name}={valid or 1}",
                       f"{name}=1&{name}=-1&{name}={2**64}", f"{name.upper()}=1", f"{quote(name)}%00=1"]
                targets += [(f"query {q[:40]}", f"{fill(t, path, {})}{base_query}{sep}{q}") for q in odd]
            else:  # header parameters: their own test covers them deeply; here every value once
                for label, value in header_values():
                    for token in tokens:
                        jobs.append(lambda m=method, p=fill(t, path, {}) + base_query, n=name, v=value, l=label, tk=token,
                                    d=data, pa=path:
                                    t.send(f"{m} {pa} header {n}: {l}", m, p, token=tk, headers=[(n, v)], body=d))
                continue
            for label, url in targets:
                for token in tokens:
                    jobs.append(lambda m=method, u=url, l=label, tk=token, d=data, pa=path:
                                t.send(f"{m} {pa} {l} as {tk}", m, u, token=tk, body=d))
        if method == "GET":  # HEAD of every GET route, valid otherwise
            for token in tokens:
                jobs.append(lambda p=fill(t, path, {}) + base_query, tk=token, pa=path:
                            t.send(f"HEAD {pa} as {tk}", "HEAD", p, token=tk))
        # the whole query string huge
        jobs.append(lambda m=method, p=fill(t, path, {}), d=data, pa=path:
                    t.send(f"{m} {pa} 64 KiB query", m, p + "?" + "a=1&" * 16384, body=d, allow_close=True))
    t.many(jobs)
    fail_on_findings(mark, "parameters")


def test_head_is_answered_like_get(target: Target):
    """RFC 9110 §9.3.2: HEAD is GET without the body; a health check or a cache may send it to any GET route."""
    t = target
    differ = []
    for method, path, params, op in operations():
        if method != "GET":
            continue
        url = fill(t, path, {}) + ("?format=ndjson" if path.endswith("/export") else "")
        token = "partner" if path.startswith("/v1/hash-lists/{list_id}/") and "downloads" not in path else "admin"
        got = t.send(f"GET {path} (for HEAD)", "GET", url, token=token)
        head = t.send(f"HEAD {path}", "HEAD", url, token=token)
        if head.status != got.status or head.body:
            differ.append(f"{path}: GET {got.status}, HEAD {head.status} ({len(head.body)} body bytes)")
    assert not differ, "HEAD answers differently from GET:\n" + "\n".join(differ)


# --- 3. JSON bodies ------------------------------------------------------------------------------------

WRONG_TYPES: list[Any] = [None, True, False, 0, -1, 1.5, -0.0, 2**63, 2**64, 10**30, "", "x", " ", "\u0000",
                          "\r\n", "\ud800", [], [None], [[[]]], {}, {"a": 1}]
RAW_NUMBERS = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" * 400, "0.0000000000000000000000001e-400",
               "01", "+1", ".5", "0x10", "1_0"]


def paths_of(value: Any, prefix: tuple = (), depth: int = 0) -> list[tuple]:
    found = []
    if depth > 3:
        return found
    if isinstance(value, dict):
        for key, child in value.items():
            found.append(prefix + (key,))
            found += paths_of(child, prefix + (key,), depth + 1)
    elif isinstance(value, list) and value:
        found.append(prefix + (0,))
        found += paths_of(value[0], prefix + (0,), depth + 1)
    return found


def replaced(value: Any, path: tuple, new: Any) -> Any:
    copy = json.loads(json.dumps(value))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return copy


def with_raw(base: Any, path: tuple, raw: bytes) -> bytes:
    """The body with the value at `path` replaced by raw bytes (which need not be JSON)."""
    marker = "\u2063HOSTILE\u2063"
    return json.dumps(replaced(base, path, marker)).encode().replace(json.dumps(marker).encode(), raw)


DATE_FIELDS = {"removed_at", "observed_at", "since", "until", "expires_at", "created_at"}


def value_at(value: Any, path: tuple) -> Any:
    for part in path:
        value = value[part]
    return value


def body_variants(base: Any) -> list[tuple[str, bytes]]:
    text = json.dumps(base)
    variants: list[tuple[str, bytes]] = []
    for path in paths_of(base):
        where = ".".join(map(str, path))
        current = value_at(base, path)
        if path[-1] in DATE_FIELDS:  # every malformed date, as a JSON string
            for date in DATES:
                variants.append((f"{where}={date[:30]}", json.dumps(replaced(base, path, unquote(date))).encode()))
        if isinstance(current, str) and current:  # enums and texts bent out of shape
            for bent in (current.upper(), f" {current} ", current + "\u0000", current * 100, current + "\u202e",
                         "\uff41" * 3, current.replace("_", "-")):
                variants.append((f"{where}={bent[:20]!r}", json.dumps(replaced(base, path, bent)).encode()))
        for wrong in WRONG_TYPES:
            try:
                variants.append((f"{where}={json.dumps(wrong)[:20]}", json.dumps(replaced(base, path, wrong)).encode("utf-8", "surrogatepass")))
            except (TypeError, ValueError):
                continue
        for raw in RAW_NUMBERS:
            variants.append((f"{where}={raw[:20]}", with_raw(base, path, raw.encode())))
        variants.append((f"{where}=1 MiB string", with_raw(base, path, b'"' + b"a" * (1 << 20) + b'"')))
        variants.append((f"{where}=invalid UTF-8", with_raw(base, path, b'"\xff\xfe\xc0\xaf\xed\xa0\x80"')))
        variants.append((f"{where} nested 10000", with_raw(base, path, b"[" * 10000 + b"]" * 10000)))
    if isinstance(base, dict) and base:
        first = next(iter(base))
        variants.append(("duplicate key, other type", ("{" + json.dumps(first) + ": 12345, " + text[1:]).encode()))
        variants.append(("duplicate key, after", (text[:-1] + (", " if len(base) else "") + json.dumps(first) + ": null}").encode()))
        variants.append(("one key 10000 times", ("{" + ", ".join([json.dumps(first) + ": 1"] * 10000) + "}").encode()))
    variants += [
        ("10000 nested arrays", b"[" * 10000 + b"]" * 10000),
        ("10000 nested objects", b'{"a":' * 10000 + b"1" + b"}" * 10000),
        ("100000 nested arrays", b"[" * 100000 + b"]" * 100000),
        ("truncated", text[: max(1, len(text) // 2)].encode()),
        ("truncated string", b'{"name": "abc'), ("only {", b"{"), ("only [", b"["),
        ("empty", b""), ("whitespace", b" \r\n\t"), ("null", b"null"), ("0", b"0"), ("string", b'"x"'), ("array", b"[]"),
        ("two documents", (text + text).encode()), ("trailing garbage", (text + " x").encode()),
        ("utf-8 BOM", b"\xef\xbb\xbf" + text.encode()), ("utf-16", text.encode("utf-16")),
        ("utf-32", text.encode("utf-32")), ("NUL bytes", b"\x00" * 64), ("invalid utf-8 only", b"\xff\xfe\xfd"),
        ("lone surrogate escape", b'{"name": "\\ud800"}'), ("bad escape", b'{"name": "\\x41"}'),
        ("control char in string", b'{"name": "a\x01b"}'), ("single quotes", b"{'name': 'x'}"),
        ("comments", b'{/* c */"name": "x"}'), ("trailing comma", text[:-1].encode() + b",}" if text.endswith("}") else b"[1,]"),
        ("NaN document", b"NaN"), ("huge number document", b"1" * 100000),
        ("100000 element array", b"[" + b"1," * 99999 + b"1]"),
    ]
    return variants


def test_json_bodies(target: Target):
    mark = LEDGER.mark()
    t = target
    jobs: list[Callable[[], Any]] = []
    for (method, path), base in base_bodies(t).items():
        url = fill(t, path, {})
        token = token_for(method, path)
        for label, data in body_variants(base):
            jobs.append(lambda m=method, u=url, l=label, d=data, tk=token, pa=path:
                        t.send(f"{m} {pa} body {l}", m, u, token=tk, body=d))
        # a body over the limit (5 MiB by default), with a length and chunked: 413 (or the connection closed)
        big = b'{"name": "' + b"a" * (5 * 1024 * 1024 + 16) + b'"}'
        jobs.append(lambda m=method, u=url, tk=token, pa=path, d=big:
                    t.send(f"{m} {pa} body over the limit", m, u, token=tk, body=d, allow_close=True))
    t.many(jobs)
    # a body on routes that take none
    for method, path in (("GET", "/v1/notices"), ("DELETE", f"/v1/tokens/{t.ids['token_id'][:-2]}zz"), ("GET", "/healthz")):
        t.send(f"{method} {path} with a body", method, path, body=b"[" * 10000)
    fail_on_findings(mark, "JSON bodies")


# --- 4. framing, methods, Expect ---------------------------------------------------------------------


def test_framing_garbage_never_5xx_or_hangs(target: Target):
    mark = LEDGER.mark()
    t = target
    bomb = gzip.compress(b"[" * (64 << 20), compresslevel=9)  # 64 MiB of `[` in about 64 KiB
    case = json.dumps({"reference": f"FRAME-{tag()}", "category": {"uk_grade": "C"}, "media_type": "image",
                       "items": [item(f"https://frame-{tag()}.unrouted.test/a.jpg")]}).encode()
    post = lambda *extra: t.request_head("POST", "/v1/cases", "analyst", extra=[b"Content-Type: application/json", *extra])
    cases: list[tuple[str, bytes | list[bytes], bool]] = [
        ("chunk size zz", post(b"Transfer-Encoding: chunked") + b"zz\r\n" + case + b"\r\n0\r\n\r\n", False),
        ("chunk size zz, half-closed", post(b"Transfer-Encoding: chunked") + b"zz\r\n", True),
        ("chunk size overflow", post(b"Transfer-Encoding: chunked") + b"ffffffffffffffffffffff\r\n" + case + b"\r\n0\r\n\r\n", False),
        ("chunk size negative", post(b"Transfer-Encoding: chunked") + b"-5\r\nabc\r\n0\r\n\r\n", False),
        ("chunk with bad extension", post(b"Transfer-Encoding: chunked") + b"5;\x00=\r\nhello\r\n0\r\n\r\n", False),
        ("chunk data longer than its size", post(b"Transfer-Encoding: chunked") + b"2\r\nhello\r\n0\r\n\r\n", False),
        ("chunked cut short", post(b"Transfer-Encoding: chunked") + b"%x\r\n" % len(case) + case[:10], True),
        ("chunked without the last chunk", post(b"Transfer-Encoding: chunked") + b"%x\r\n" % len(case) + case + b"\r\n", True),
        ("body cut short", post(b"Content-Length: %d" % len(case)) + case[: len(case) // 2], True),
        ("body cut short by 1 byte", post(b"Content-Length: %d" % len(case)) + case[:-1], True),
        ("Content-Length empty", post(b"Content-Length: ") + case, False),
        ("Content-Length ;", post(b"Content-Length: ;") + case, False),
        ("Content-Length -1", post(b"Content-Length: -1") + case, False),
        ("Content-Length abc", post(b"Content-Length: abc") + case, False),
        ("Content-Length 10^30", post(b"Content-Length: " + str(10**30).encode()) + case, True),
        ("Content-Length 2^63", post(b"Content-Length: " + str(2**63).encode()) + case, True),
        ("Content-Length 2^64", post(b"Content-Length: " + str(2**64).encode()) + case, True),
        ("Content-Length +5", post(b"Content-Length: +5") + case, False),
        ("Content-Length 0x10", post(b"Content-Length: 0x10") + case, False),
        ("Content-Length 1,2", post(b"Content-Length: 1,2") + case, False),
        ("two Content-Lengths that disagree", post(b"Content-Length: 5", b"Content-Length: %d" % len(case)) + case, False),
        ("Content-Length and chunked", post(b"Content-Length: 5", b"Transfer-Encoding: chunked") + b"%x\r\n" % len(case) + case + b"\r\n0\r\n\r\n", False),
        ("Transfer-Encoding empty", post(b"Transfer-Encoding: ") + case, False),
        ("Transfer-Encoding ;", post(b"Transfer-Encoding: ;") + case, False),
        ("Transfer-Encoding gzip", post(b"Transfer-Encoding: gzip") + case, True),
        ("Transfer-Encoding chunked, chunked", post(b"Transfer-Encoding: chunked, chunked") + b"0\r\n\r\n", True),
        ("Transfer-Encoding xchunked", post(b"Transfer-Encoding: xchunked") + case, True),
        ("Transfer-Encoding chunked;", post(b"Transfer-Encoding: chunked;") + b"0\r\n\r\n", True),
        ("Transfer-Encoding NUL", post(b"Transfer-Encoding: chunked\x00") + b"0\r\n\r\n", True),
        ("Transfer-Encoding 100 times", post(*[b"Transfer-Encoding: chunked"] * 100) + b"0\r\n\r\n", True),
        ("Transfer-Encoding identity", post(b"Transfer-Encoding: identity") + case, True),
        ("request line only GET", b"GET\r\n\r\n", False),
        ("HTTP/9.9", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", False),
        ("HTTP/0.9", b"GET /healthz\r\n\r\n", False),
        ("HTTP/1.0 no Host", b"GET /healthz HTTP/1.0\r\n\r\n", False),
        ("HTTP/1.1 no Host", b"GET /healthz HTTP/1.1\r\n\r\n", False),
        ("two Hosts", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", False),
        ("space in target", b"GET /v1/notices ?a HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("NUL in target", b"GET /v1/notices\x00 HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("CR in target", b"GET /v1/not\rices HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("non-ASCII target", "GET /v1/nötices HTTP/1.1\r\nHost: x\r\n\r\n".encode(), False),
        ("invalid UTF-8 target", b"GET /v1/notices/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("absolute-form target", b"GET http://evil.test/v1/notices HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("asterisk-form target", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("target without slash", b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("100 KiB target", b"GET /healthz?" + b"a" * 102400 + b" HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("1 MiB of headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 1000 + b"\r\n" + b"X-Pad: a\r\n" * 100000 + b"\r\n", False),
        ("10000 headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(10000)) + b"\r\n", False),
        ("header without colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", False),
        ("header name with space", b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", False),
        ("empty header name", b"GET /healthz HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n", False),
        ("space before colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nAccept : ;\r\n\r\n", False),
        ("bare LF line ends", b"GET /healthz HTTP/1.1\nHost: x\n\n", False),
        ("bare CR line ends", b"GET /healthz HTTP/1.1\rHost: x\r\r", True),
        ("lower-case method", b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", False),
        ("binary garbage", bytes(range(256)) * 4, False),
        ("TLS client hello", bytes.fromhex("16030100a5010000a10303") + secrets.token_bytes(160), False),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", False),
        ("pipelined garbage after a good request", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02garbage\r\n\r\n", False),
        ("only CRLFs", b"\r\n" * 1000, True),
        ("gzip bomb with Content-Encoding", post(b"Content-Encoding: gzip", b"Content-Length: %d" % len(bomb)) + bomb, False),
        ("deflate garbage with Content-Encoding", post(b"Content-Encoding: deflate", b"Content-Length: 4") + b"\xff\xff\xff\xff", False),
    ]
    for label, data, half_close in cases:
        t.raw(label, data, half_close=half_close)
    fail_on_findings(mark, "framing")


def test_malformed_chunked_body_is_a_400(target: Target):
    """Issue 10, item 9: chunk size `zz` and a body cut short answer 500 today; they must be a 400 (or a close)."""
    t = target
    post = lambda *extra: t.request_head("POST", "/v1/cases", "analyst", extra=[b"Content-Type: application/json", *extra])
    seen = {}
    for label, data, half in (
        ("zz", post(b"Transfer-Encoding: chunked") + b"zz\r\n{}\r\n0\r\n\r\n", False),
        ("cut short", post(b"Transfer-Encoding: chunked") + b"20\r\n{\"reference\":", True),
        ("content-length cut short", post(b"Content-Length: 100") + b'{"reference":', True),
    ):
        outcome = t.raw(f"chunked {label}", data, half_close=half)
        seen[label] = outcome.status
    bad = {k: v for k, v in seen.items() if v is not None and v != 400}
    assert not bad, f"malformed or cut-short bodies must be a 400 (or the connection closed): {seen}"


def test_expect_100_continue_gets_a_100(target: Target):
    t = target
    body = json.dumps({"reference": f"EXPECT-{tag()}", "category": {"uk_grade": "C"}, "media_type": "image",
                       "items": [item(f"https://expect-{tag()}.unrouted.test/a.jpg")]}).encode()
    head = t.request_head("POST", "/v1/cases", "analyst",
                          extra=[b"Content-Type: application/json", b"Expect: 100-continue", b"Content-Length: %d" % len(body)])
    head = head[: head.index(b"\r\n\r\n") + 4]
    with socket.create_connection(("127.0.0.1", t.port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(head)
        sock.settimeout(3)
        interim = b""
        try:
            while b"\r\n\r\n" not in interim:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                interim += chunk
        except (socket.timeout, TimeoutError):
            pass
        sock.settimeout(IO_TIMEOUT)
        sock.sendall(body)
        final = read_response(sock, "POST")
    LEDGER.record("Expect: 100-continue", final, allow_close=False)
    assert interim.startswith(b"HTTP/1.1 100"), f"no 100 Continue within 3 s (got {interim[:80]!r}); final answer {final.describe()}"
    assert final.status == 201, final.describe()


def test_connect_and_odd_methods_get_an_answer(target: Target):
    mark = LEDGER.mark()
    t = target
    connect = t.raw("CONNECT", b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n", allow_close=False, timeout=5)
    for method in ("TRACE", "OPTIONS", "PROPFIND", "FOO", "PUT", "DELETE", "PATCH", "HEAD", "QUERY", "M-SEARCH",
                   "A" * 1000, "GET\x00", "G\xc3\xa9T"):
        for path in ("/healthz", "/v1/notices", f"/v1/notices/{t.ids['notice_id']}", "/nope"):
            data = t.request_head(method, path, "partner") if "\x00" not in method and "\xc3" not in method else \
                method.encode("latin-1") + f" {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            t.raw(f"method {method[:20]!r} {path}", data, method=method if method.isalpha() else "GET",
                  allow_close=not method.isalpha() or len(method) > 100)
    assert connect.status is not None, f"CONNECT got no answer: {connect.describe()}"
    fail_on_findings(mark, "odd methods")


def test_concurrent_writes_and_races(target: Target):
    """Writes at once: no 5xx (a busy store is not the client's fault), one case per Idempotency-Key, and one
    owner per routing domain however two partners race for it (issue 10, item 9)."""
    mark = LEDGER.mark()
    t = target
    s = tag()
    # 64 submissions of the same case under one Idempotency-Key, 8 at a time: one case
    body = {"reference": f"RACE-{s}", "category": {"uk_grade": "C"}, "media_type": "image",
            "items": [item(f"https://race-{s}.unrouted.test/a.jpg")]}
    same = [lambda: t.send("same Idempotency-Key at once", "POST", "/v1/cases", token="analyst", body=body,
                           headers=[("Idempotency-Key", f"race-{s}")]) for _ in range(64)]
    outcomes: list[Outcome] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = [f.result() for f in [pool.submit(job) for job in same]]
    ids = {json.loads(o.body)["id"] for o in outcomes if o.status == 201}
    assert len(ids) == 1, f"one Idempotency-Key made {len(ids)} cases: {Counter(o.status for o in outcomes)}"
    # mixed writes at once
    jobs: list[Callable[[], Any]] = []
    for index in range(48):
        jobs.append(lambda i=index: t.send("case at once", "POST", "/v1/cases", token="analyst", body={
            **body, "reference": f"RACE-{s}-{i}", "items": [item(f"https://race-{s}-{i}.unrouted.test/a.jpg")]}))
        jobs.append(lambda i=index: t.send("partner patch at once", "PATCH", f"/v1/partners/{t.ids['partner_b']}",
                                           body={"name": f"Hostile Hosting B {s} {i}"}))
        jobs.append(lambda: t.send("notices at once", "GET", "/v1/notices?limit=5", token="partner"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    # two partners claiming one domain at the same moment, ten times: never both
    both = []
    for round_ in range(10):
        domain = f"contested-{s}-{round_}.test"
        barrier = threading.Barrier(2)

        def claim(n: int, domain: str = domain, barrier: threading.Barrier = barrier) -> Outcome:
            barrier.wait(timeout=10)
            return t.send("partners racing for a domain", "POST", "/v1/partners", body={
                "name": f"Contender {n} {domain}", "kind": "hosting_provider", "contact_email": f"abuse@{n}.{domain}",
                "jurisdiction": "GB", "routing": {"domains": [domain]}})

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = [f.result() for f in [pool.submit(claim, n) for n in (1, 2)]]
        if [o.status for o in results] == [201, 201]:
            both.append(domain)
    fail_on_findings(mark, "concurrent writes")
    assert not both, f"two partners were both given the same domain in {len(both)} of 10 races: {both}"


# --- 5. CR/LF in fields that reach an email -----------------------------------------------------------

INJECTIONS = {
    "CRLF": "\r\nBcc: injected@evil.test\r\nX-Injected: crlf",
    "CR": "\rX-Injected: cr",
    "LF": "\nX-Injected: lf",
    "CRLFCRLF": "\r\n\r\nX-Injected: body",
    "NUL": "\x00X-Injected: nul",
    "NEL": "\u0085X-Injected: nel",
    "LS": "\u2028X-Injected: ls",
}


def header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[: end + 2]


def injected(raw: bytes) -> list[str]:
    """What in a raw message's header section could only come from an injection."""
    problems = []
    head = header_block(raw)
    for index, byte in enumerate(head):
        if byte == 0x0A and (index == 0 or head[index - 1] != 0x0D):
            problems.append("bare LF in the header section")
            break
        if byte == 0x0D and (index + 1 >= len(head) or head[index + 1] != 0x0A):
            problems.append("bare CR in the header section")
            break
    if b"\x00" in head:
        problems.append("NUL in the header section")
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for name in message.keys():
        if name.lower() in ("bcc", "x-injected") or not name.replace("-", "").isalnum():
            problems.append(f"header {name!r}")
    if b"X-Injected" in head or b"injected@evil.test" in head:
        problems.append("injected text in the header section")
    return problems


def test_crlf_in_text_fields_never_reaches_an_email_header(target: Target):
    t = target
    g, admin = t.gateway, t.tokens["admin"]
    s = tag()
    domain = f"mail-hostile-{s}.test"
    partner = g.request("POST", "/v1/partners", token=admin, expect=201, body={
        "name": f"Mail Hostile {s}", "kind": "hosting_provider", "contact_email": f"abuse@{domain}",
        "jurisdiction": "GB", "routing": {"domains": [domain]}, "delivery": {"email": f"takedown@{domain}"},
    }).json()
    expected_notices: dict[str, str] = {}  # notice id -> what it carries
    refused: dict[str, int] = {}
    for label, text in INJECTIONS.items():
        # addresses with an injection are never accepted
        for where, body in (
            ("delivery.email", {"delivery": {"email": f"takedown@{domain}{text}"}}),
            ("contact_email", {"contact_email": f"abuse@{domain}{text}"}),
        ):
            response = t.send(f"PATCH partner {where} with {label}", "PATCH", f"/v1/partners/{partner['id']}", body=body)
            assert response.status in (400, 422), f"{where} with {label} was accepted: {response.describe()}"
        # a partner whose name carries it: refused, or its mail shows nothing injected
        other = f"mail-hostile-{label.lower()}-{s}.test"
        created = t.send(f"partner name with {label}", "POST", "/v1/partners", body={
            "name": f"Mail Hostile {label}{text}", "kind": "hosting_provider", "contact_email": f"abuse@{other}",
            "jurisdiction": "GB", "routing": {"domains": [other]}, "delivery": {"email": f"takedown@{other}"},
        })
        if created.status == 201:
            case = t.send(f"case for partner named with {label}", "POST", "/v1/cases", token="analyst", body={
                "reference": f"MAILNAME-{label}-{s}", "category": {"uk_grade": "C"}, "media_type": "image",
                "items": [item(f"https://{other}/{tag()}.jpg")]})
            assert case.status == 201, case.describe()
            expected_notices[json.loads(case.body)["notices"][0]["id"]] = f"partner name with {label}"
        else:
            refused[f"partner name with {label}"] = created.status
        # a case reference (it is in the Subject)
        case = t.send(f"case reference with {label}", "POST", "/v1/cases", token="analyst", body={
            "reference": f"MAIL-{label}-{s}{text}", "category": {"uk_grade": "C"}, "media_type": "image",
            "items": [item(f"https://www.{domain}/{label}/{tag()}.jpg")]})
        if case.status == 201:
            expected_notices[json.loads(case.body)["notices"][0]["id"]] = f"case reference with {label}"
        else:
            refused[f"case reference with {label}"] = case.status
    # a clean case, so the test cannot pass without mail arriving; withdrawn with a reason carrying CRLF
    clean = t.send("clean case", "POST", "/v1/cases", token="analyst", body={
        "reference": f"MAIL-CLEAN-{s}", "category": {"uk_grade": "C"}, "media_type": "image",
        "items": [item(f"https://www.{domain}/clean/{tag()}.jpg")]})
    assert clean.status == 201, clean.describe()
    clean_id = json.loads(clean.body)["notices"][0]["id"]
    expected_notices[clean_id] = "clean case"
    withdrawn = t.send("withdraw with CRLF reason", "POST", f"/v1/notices/{clean_id}/withdraw", token="analyst",
                       body={"reason": "sent in error" + INJECTIONS["CRLF"]})
    wanted_mails = len(expected_notices) + (1 if withdrawn.status == 200 else 0)

    def notice_of(raw: bytes) -> str:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        return (message.get("X-Takedown-Notice-Id") or "").strip()

    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        mails = [m for m in t.inbox.messages if notice_of(m[2]) in expected_notices]
        if len(mails) >= wanted_mails:
            break
        time.sleep(0.2)
    mails = [m for m in t.inbox.messages if notice_of(m[2]) in expected_notices]
    assert any(notice_of(m[2]) == clean_id for m in mails), "the clean case's notice never reached the SMTP sink"
    problems = []
    for mail_from, recipients, raw in mails:
        what = expected_notices[notice_of(raw)]
        if len(recipients) != 1 or "evil" in recipients[0]:
            problems.append(f"{what}: recipients {recipients}")
        for problem in injected(raw):
            problems.append(f"{what}: {problem}\n{header_block(raw).decode('utf-8', 'replace')[:1500]}")
    missing = set(expected_notices.values()) - {expected_notices[notice_of(m[2])] for m in mails}
    for what in problems:
        LEDGER.finding(f"EMAIL HEADER INJECTION: {what.splitlines()[0]}")
    assert not problems, "injected email headers:\n" + "\n\n".join(problems)
    assert not missing, f"notices whose mail never came: {sorted(missing)} (refused up front: {refused})"


LABEL_ATTACKS = {"CR": "a\rb", "LF": "a\nb", "CRLF": "a\r\nX-Injected: 1", "NUL": "a\x00b", "DEL": "a\x7fb",
                 "ESC": "a\x1b[2Jb", "RLO": "invoice\u202egpj.exe", "LRI": "a\u2066b", "NEL": "a\u0085b", "LS": "a\u2028b"}


def test_labels_refuse_control_and_bidi_characters(target: Target):
    """Issue 10, item 9: token names and other labels accept CR, LF, NUL and bidi overrides today."""
    t = target
    accepted = []
    for label, text in LABEL_ATTACKS.items():
        s = tag()
        attempts = [
            ("staff token name", "POST", "/v1/tokens", {"role": "analyst", "name": text}),
            ("partner token name", "POST", f"/v1/partners/{t.ids['partner_b']}/tokens", {"name": text}),
            ("partner name", "POST", "/v1/partners", {
                "name": f"P {text} {s}", "kind": "hosting_provider", "contact_email": f"abuse@label-{s}.test",
                "jurisdiction": "GB", "routing": {"domains": [f"label-{s}.test"]}}),
            ("hash list name", "POST", "/v1/hash-lists", {"name": f"L {text} {s}", "audience": "hosting_provider",
                                                          "hash_types": ["sha256"], "include": {"uk_grades": ["C"]}}),
            ("SLA policy name", "POST", "/v1/sla-policies", {"name": f"S {text} {s}", "deadline_seconds": 60, "ladder": []}),
            ("case reference", "POST", "/v1/cases", {"reference": f"R {text} {s}", "category": {"uk_grade": "C"},
                                                     "media_type": "image", "items": [item(f"https://label-{s}.unrouted.test/a")]}),
        ]
        for what, method, path, body in attempts:
            outcome = t.send(f"{what} with {label}", method, path, token="analyst" if path == "/v1/cases" else "admin", body=body)
            if outcome.status is not None and 200 <= outcome.status < 300:
                accepted.append(f"{what} with {label} ({text!r}) -> {outcome.status}")
    assert not accepted, "labels with control or bidi characters were accepted:\n" + "\n".join(accepted)


NOT_ADDRESSES = ['"a@x.test', 'a"@x.test', 'a,b@x.test', 'a;b@x.test', 'a:b@x.test', 'a(b)@x.test', 'a\\b@x.test',
                 'a[b]@x.test', '.a@x.test', 'a.@x.test', 'a..b@x.test', 'a<b@x.test', 'a@x.test,c@y.test']


def test_email_addresses_are_plain_addr_specs(target: Target):
    """An address lands in a To: header and an SMTP RCPT: a comma, colon, semicolon, quote or parenthesis
    changes what it means there (another recipient, a group, a comment), so only a plain addr-spec is taken."""
    t = target
    taken = []
    for address in NOT_ADDRESSES:
        for field_name, body in (("delivery.email", {"delivery": {"email": address}}), ("contact_email", {"contact_email": address})):
            outcome = t.send(f"{field_name} {address!r}", "PATCH", f"/v1/partners/{t.ids['partner_b']}", body=body)
            if outcome.status is not None and 200 <= outcome.status < 300:
                taken.append(f"{field_name} = {address!r} -> {outcome.status}")
    t.send("restore partner b", "PATCH", f"/v1/partners/{t.ids['partner_b']}",
           body={"delivery": {"email": "takedown@hostile-b.test"}, "contact_email": "abuse@hostile-b.test"})
    assert not taken, "addresses that are no plain addr-spec were accepted:\n" + "\n".join(taken)


NUMERIC_SETTINGS = [
    "PORT", "IDLE_TIMEOUT", "MAX_CONNECTIONS", "MAX_BODY_BYTES", "MAX_HEAVY_PER_PARTNER", "WEBHOOK_TIMEOUT_SECONDS",
    "RETRY_SCHEDULE", "LADDER_INTERVAL_SECONDS", "DEFAULT_DEADLINE_HOURS", "ENDPOINT_PAUSE_AFTER_HOURS",
    "ENDPOINT_CONCURRENCY", "DATABASE_POOL_SIZE", "VERIFY_TIMEOUT_SECONDS", "VERIFY_INTERVAL_SECONDS",
    "VERIFY_POLL_SECONDS", "VERIFY_MAX_BYTES", "VERIFY_MAX_REDIRECTS", "VERIFY_CONCURRENCY", "HASH_MIN_POLL_SECONDS",
    "HASH_PUBLISH_INTERVAL_SECONDS", "HASH_MAINTENANCE_INTERVAL_SECONDS", "HASH_MANIFEST_LIFETIME_HOURS",
    "HASH_TOMBSTONE_RETENTION_DAYS",
]
BAD_NUMBERS = ["inf", "1e300", "-1"]  # nan and 2^64 take the same paths (measured: all refused)
BAD_OTHERS = [("RATE_LIMITS", "partner=inf/5"), ("RATE_LIMITS", "partner=1/0"), ("RATE_LIMITS", "partner=1/99999999999999999999"),
              ("RATE_LIMITS", "partner=/"), ("LADDER", "inf:reminder"), ("LADDER", "1e300:expire"), ("LADDER", ";"),
              ("METRICS_ADDR", "127.0.0.1:99999"), ("METRICS_ADDR", ":"), ("PUBLIC_URL", ";"), ("SMTP_URL", ";"),
              ("DATABASE_URL", "postgres://:@:99999/x"), ("LOG_LEVEL", ";"), ("BOOTSTRAP_ADMIN_TOKEN", ";"),
              ("ISSUER_COUNTRY", ";;;"), ("ESCALATION_PARTNER", ";")]


def test_hostile_settings_are_refused_never_trapped(tmp_path):
    """Issue 10, item 1: settings are parsed like requests: a bad value stops `serve` with a message naming
    it (exit status 1), never with a trap or a signal."""
    cases = [(name, value) for name in NUMERIC_SETTINGS for value in BAD_NUMBERS] + BAD_OTHERS
    trapped, unnamed, served = [], [], []

    def attempt(index: int, name: str, value: str) -> None:
        workdir = tmp_path / f"s{index}"
        # the verification worker on, so its settings are read (an empty store gives it nothing to fetch)
        gateway = Gateway(workdir, name=f"settings-{index}", extra_env={"TAKEDOWN_VERIFY_WORKER": "1", f"TAKEDOWN_{name}": value})
        proc = subprocess.Popen(
            [str(gateway.binary), "serve", "--host", "127.0.0.1", "--port", str(free_port()), "--data-dir", str(gateway.data_dir)],
            env=gateway.environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            output, _ = proc.communicate(timeout=4)
        except subprocess.TimeoutExpired:  # it took the value and serves: fine, as long as it does not trap
            served.append(f"TAKEDOWN_{name}={value!r}")
            proc.terminate()
            output, _ = proc.communicate(timeout=15)
            if proc.returncode not in (0, -15, 143):
                trapped.append(f"TAKEDOWN_{name}={value!r}: exit status {proc.returncode} when stopped")
            return
        text = output.decode("utf-8", "replace")
        if proc.returncode != 1:
            trapped.append(f"TAKEDOWN_{name}={value!r}: exit status {proc.returncode}: {text[-300:]!r}")
        elif f"TAKEDOWN_{name}" not in text:
            unnamed.append(f"TAKEDOWN_{name}={value!r}: {text.strip().splitlines()[-1][:160] if text.strip() else '(no output)'}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for future in [pool.submit(attempt, i, n, v) for i, (n, v) in enumerate(cases)]:
            future.result()
    for text in trapped:
        LEDGER.finding(f"SETTING TRAP: {text}")
    assert not trapped, "settings that trap or kill `serve`:\n" + "\n".join(trapped) + f"\n(taken and served: {served})"
    assert not unnamed, "refused settings whose message does not name them:\n" + "\n".join(unnamed)


# --- 6. idle connections --------------------------------------------------------------------------------


def open_connections(port: int, count: int, partial_every: int = 4) -> list[socket.socket]:
    held = []
    for index in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if partial_every and index % partial_every == 0:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # a request head never finished
        held.append(sock)
    return held


def probe_healthz(port: int, timeout: float = 5) -> tuple[float, Outcome]:
    started = time.perf_counter()
    outcome = raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=timeout)
    return time.perf_counter() - started, outcome


def test_2000_idle_connections_do_not_stall_healthz(target: Target):
    t = target
    held: list[socket.socket] = []
    try:
        held = open_connections(t.port, IDLE_CONNECTIONS)
        # The kernel completes handshakes before the server accepts them: one untimed probe, queued behind
        # every connection opened above, answers once the server has taken them all. Then they sit idle.
        _, settled = probe_healthz(t.port, timeout=IO_TIMEOUT)
        LEDGER.record("/healthz behind 2000 new connections", settled, allow_close=False)
        timings = []
        for _ in range(20):
            elapsed, outcome = probe_healthz(t.port)
            LEDGER.record("/healthz beside 2000 idle connections", outcome, allow_close=False)
            timings.append((round(elapsed * 1000, 1), outcome.status))
            time.sleep(0.05)
    finally:
        for sock in held:
            sock.close()
    slow = [ms for ms, status in timings if status != 200 or ms > HEALTHZ_BUDGET * 1000]
    assert not slow, f"/healthz probes (ms, status) with {IDLE_CONNECTIONS} idle connections held: {timings}"
    assert t.alive()


# --- 7. a second gateway with low limits -------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory):
    metrics_port = free_port()
    gateway = Gateway(tmp_path_factory.mktemp("limited"), name="limited", extra_env={
        "TAKEDOWN_RATE_LIMITS": "partner=1/5,anonymous=1/5",
        "TAKEDOWN_IDLE_TIMEOUT": "2",
        # The idle timeout cuts a slow head; a body that keeps dripping is cut by the read deadline.
        "TAKEDOWN_READ_TIMEOUT": "2",
        "TAKEDOWN_MAX_CONNECTIONS": "32",
        "TAKEDOWN_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
    })
    gateway.metrics_port = metrics_port
    try:
        gateway.start()
        tokens = {}
        for key in ("a", "b"):
            s = tag()
            created = gateway.post_json("/v1/partners", {
                "name": f"Limited {key} {s}", "kind": "hosting_provider", "contact_email": f"abuse@limited-{s}.test",
                "jurisdiction": "GB", "routing": {"domains": [f"limited-{s}.test"]}}, gateway.admin_token)
            tokens[key] = created["token"]
        yield gateway, tokens
    finally:
        gateway.stop()


def limited_get(gateway: Gateway, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = gateway.http.get(gateway.url + path, headers=headers, timeout=IO_TIMEOUT)
    LEDGER.record(f"rate limit GET {path}", Outcome(status=response.status_code, content_type=response.headers.get("content-type", ""),
                                                   body=response.content), allow_close=False)
    return response


def check_429(response: requests.Response) -> int:
    assert response.headers.get("content-type", "").startswith("application/problem+json"), response.headers
    problem = response.json()
    assert problem["status"] == 429 and problem["type"].endswith("rate-limited"), problem
    retry_after = response.headers.get("Retry-After", "")
    assert retry_after.isdigit() and int(retry_after) >= 1, f"Retry-After {retry_after!r}"
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert response.headers.get(name, "").isdigit(), f"{name}: {response.headers.get(name)!r} in {dict(response.headers)}"
    assert response.headers["RateLimit-Remaining"] == "0", dict(response.headers)
    return int(retry_after)


@pytest.mark.parametrize("who", ["partner", "anonymous"])
def test_rate_limit_bursts_get_429_then_pass_again(limited, who):
    gateway, tokens = limited
    token = tokens["a"] if who == "partner" else None
    path = "/v1/notices" if who == "partner" else "/.well-known/jwks.json"
    answers = [limited_get(gateway, path, token) for _ in range(12)]
    statuses = [r.status_code for r in answers]
    assert statuses[:5] == [200] * 5, statuses
    assert 429 in statuses, f"a burst of 12 at 1/s with a bucket of 5 was never limited: {statuses}"
    ok = answers[0]
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert ok.headers.get(name, "").isdigit(), f"{name} missing on an allowed answer: {dict(ok.headers)}"
    retry_after = check_429(answers[statuses.index(429)])
    retry_after = check_429(answers[-1]) if answers[-1].status_code == 429 else retry_after
    if who == "partner":
        # another partner's bucket is its own
        assert limited_get(gateway, path, tokens["b"]).status_code == 200
    time.sleep(retry_after)
    assert limited_get(gateway, path, token).status_code == 200, "still limited after waiting Retry-After"


def test_idle_connection_is_closed_after_the_idle_timeout(limited):
    gateway, _ = limited
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as silent, \
            socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the end of the head
        started = time.monotonic()
        closed = {}
        for name, sock in (("silent", silent), ("slow head", slow)):
            try:
                data = sock.recv(1024)
                closed[name] = (round(time.monotonic() - started, 1), data[:40])
            except (socket.timeout, TimeoutError):
                closed[name] = None
            except ConnectionError as error:
                closed[name] = (round(time.monotonic() - started, 1), repr(error))
    assert all(v is not None and v[0] <= 6 for v in closed.values()), \
        f"with TAKEDOWN_IDLE_TIMEOUT=2, idle connections were not closed within 6 s: {closed}"


def drip(port: int, head: bytes, byte: bytes, seconds: float) -> float | None:
    """Sends `head`, then one byte a second; when the server cuts the connection off, how long it took."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        started = time.monotonic()
        sock.settimeout(1.0)
        while time.monotonic() - started < seconds:
            try:
                if sock.recv(4096) == b"":
                    return time.monotonic() - started
                return time.monotonic() - started  # an answer (408 or 400) also ends it
            except (socket.timeout, TimeoutError):
                pass
            except ConnectionError:
                return time.monotonic() - started
            try:
                sock.sendall(byte)
            except OSError:
                return time.monotonic() - started
    return None


@pytest.mark.parametrize("part", ["head", "body"])
def test_slow_clients_are_cut_off(limited, part):
    """One byte a second never completes a request: with TAKEDOWN_IDLE_TIMEOUT=2 it is cut off in seconds."""
    gateway, tokens = limited
    if part == "head":
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
    else:
        head = (b"POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + gateway.admin_token.encode()
                + b"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    took = drip(gateway.port, head, b"a", 15)
    assert took is not None and took <= 8, f"a request {part} sent one byte a second was still open after {took or 15:.0f} s"


def test_metrics_listener_takes_garbage(limited):
    """The separate /metrics listener (TAKEDOWN_METRICS_ADDR) is an HTTP server too: garbage there must not
    take the process down, and /metrics keeps answering."""
    gateway, _ = limited
    port = gateway.metrics_port
    mark = LEDGER.mark()
    for label, data in (
        ("Accept ;", b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: ;\r\n\r\n"),
        ("chunk size zz", b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        ("CONNECT", b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("binary", bytes(range(256))),
        ("huge header", b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 262144 + b"\r\n\r\n"),
        ("NUL in header", b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n"),
        ("unknown path", b"GET /v1/notices HTTP/1.1\r\nHost: x\r\n\r\n"),
    ):
        outcome = raw_exchange(port, data, half_close=label == "chunk size zz", timeout=IO_TIMEOUT)
        if outcome.timeout or (outcome.status is not None and outcome.status >= 500):
            LEDGER.finding(f"METRICS LISTENER: {label} -> {outcome.describe()}")
        LEDGER.record(f"metrics listener: {label}", Outcome(status=outcome.status, content_type="application/problem+json",
                                                            body=b'{"status": %d, "type": "x"}' % (outcome.status or 0),
                                                            timeout=outcome.timeout), allow_close=True)
    assert gateway.proc.poll() is None, "garbage on the metrics listener killed the gateway"
    scrape = raw_exchange(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert scrape.status == 200 and scrape.body, scrape.describe()
    fail_on_findings(mark, "the metrics listener")


def test_connections_beyond_the_cap_do_not_starve_the_server(limited):
    """TAKEDOWN_MAX_CONNECTIONS=32 with 64 idle connections: the idle timeout (2 s) frees slots, /healthz is served."""
    gateway, _ = limited
    held = open_connections(gateway.port, 64, partial_every=0)
    try:
        started = time.perf_counter()
        outcome = raw_exchange(gateway.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=9)
        elapsed = time.perf_counter() - started
        LEDGER.record("/healthz beyond the connection cap", outcome, allow_close=False)
        assert outcome.status == 200, f"/healthz with 64 idle connections over a cap of 32: {outcome.describe()}"
        assert elapsed < 9
    finally:
        for sock in held:
            sock.close()
    assert gateway.proc.poll() is None


# --- 8. the same process, no 5xx -------------------------------------------------------------------------


def test_zz_same_process_alive_and_no_5xx(target: Target, record_property):
    """Last in this file: the process that started is still the one serving, and nothing got a 5xx."""
    t = target
    record_property("hostile_requests_sent", LEDGER.sent)
    message = f"hostile requests sent: {LEDGER.sent}"
    print(message)
    health = requests.get(f"{t.gateway.url}/healthz", timeout=5)
    assert t.gateway.proc is not None and t.gateway.proc.poll() is None, message
    problems = []
    if t.crashes:
        problems.append(f"the gateway died {len(t.crashes)} time(s):\n" + "\n".join(t.crashes))
    if t.gateway.proc.pid != t.pid:
        problems.append(f"the serving process is {t.gateway.proc.pid}, not the {t.pid} that started")
    if health.status_code != 200:
        problems.append(f"/healthz answered {health.status_code}")
    if LEDGER.server_errors:
        problems.append(f"{len(LEDGER.server_errors)} request(s) got a 5xx:\n" + "\n".join(LEDGER.server_errors[:40]))
    assert not problems, message + "\n" + "\n".join(problems)
