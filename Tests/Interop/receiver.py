"""A webhook receiver for the push-delivery tests: what a hosting provider would run.

It listens on 127.0.0.1 (a free port), checks every request with the Standard Webhooks reference
library (`standardwebhooks`, not code of this project) against each secret it holds, records what
arrived, and answers 204. It can be scripted to fail the first attempt of chosen messages (answer a
status such as 400, or drop the connection without an answer) and to answer slowly.

    receiver = Receiver(secrets={"current": "whsec_..."}).start()
    url = receiver.url("/hooks/a")
    ...
    receiver.wait_for(lambda r: len(r.ids()) >= 3, timeout=20)
    receiver.stop()
"""

from __future__ import annotations

import json
import random
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from standardwebhooks.webhooks import Webhook

# How a scripted failure looks to the gateway.
FAIL_STATUS = "status"  # an HTTP answer with `fail_status` (400 by default: retried on the fast schedule)
FAIL_CLOSE = "close"  # the connection is reset without any answer


@dataclass
class Received:
    """One request as it arrived."""

    number: int  # 1-based arrival order over the whole receiver
    path: str
    webhook_id: str | None
    timestamp: str | None
    signature: str | None
    raw: bytes
    body: Any  # the parsed JSON, or None when it did not parse
    verified: dict[str, bool]  # secret label -> did standardwebhooks accept the request with that secret
    errors: dict[str, str]  # secret label -> why it did not
    arrived: float  # time.time() when the request was read
    attempt: int  # how many requests with this webhook-id had arrived, this one included
    answer: int | str = 0  # the status answered, FAIL_CLOSE, or "gone"; 0 while being answered
    replying: float | None = None  # time.time() when the receiver began to answer (after any delay)
    answered: float | None = None  # time.time() once the answer was written (or the connection dropped)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """The whole body arrived: a sender that dies mid-request leaves a shorter one."""
        try:
            return len(self.raw) == int(self.headers.get("content-length", ""))
        except ValueError:
            return False

    @property
    def ok(self) -> bool:
        """Accepted with at least one of the receiver's secrets."""
        return any(self.verified.values())

    @property
    def signatures(self) -> list[str]:
        return (self.signature or "").split()

    @property
    def notice_id(self) -> str | None:
        try:
            return self.body["data"]["id"]
        except (TypeError, KeyError):
            return None

    @property
    def event_type(self) -> str | None:
        try:
            return self.body["type"]
        except (TypeError, KeyError):
            return None

    def verify_with(self, secret: str) -> Any:
        """Verify again, now, with another secret (raises WebhookVerificationError)."""
        return Webhook(secret).verify(self.raw, self.headers)


FailRule = Callable[[Received], bool]


class Receiver:
    def __init__(
        self,
        secrets: dict[str, str] | list[str] | None = None,
        *,
        fail_first: bool | FailRule = False,
        fail_mode: str = FAIL_STATUS,
        fail_status: int = 400,
        delay: float | tuple[float, float] = 0.0,
        name: str = "receiver",
    ) -> None:
        self.name = name
        self._lock = threading.Condition()
        self._secrets: dict[str, str] = {}
        self.trust(secrets or {})
        self.fail_first = fail_first
        self.fail_mode = fail_mode
        self.fail_status = fail_status
        self.delay = delay
        self.records: list[Received] = []
        self._attempts: dict[str | None, int] = {}
        self.in_progress = 0  # requests read but not answered yet
        # Per path (an endpoint): requests open now, and the most ever open at once. A request whose sender
        # hung up (a killed gateway) stops counting as soon as the hang-up is seen.
        self.open_by_path: dict[str, int] = {}
        self.most_open_by_path: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # configuration

    def trust(self, secrets: dict[str, str] | list[str] | str) -> None:
        """Add secrets to verify with (a label per secret; a list is labelled by position)."""
        if isinstance(secrets, str):
            secrets = [secrets]
        if isinstance(secrets, list):
            secrets = {f"secret{len(self._secrets) + i}": s for i, s in enumerate(secrets)}
        with self._lock:
            for label, secret in secrets.items():
                Webhook(secret)  # a malformed secret fails here, not on every request
                self._secrets[label] = secret

    def forget(self, label: str) -> None:
        with self._lock:
            self._secrets.pop(label, None)

    # life cycle

    def start(self) -> "Receiver":
        assert self._server is None, "receiver already started"
        receiver = self

        class Handler(_Handler):
            owner = receiver

        server = _QuietServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        server.daemon_threads = True
        server.request_queue_size = 256  # the gateway opens up to 64 connections at once
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "receiver not started"
        return self._server.server_address[1]

    def url(self, path: str = "/webhook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # what arrived

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.records)

    def ids(self) -> set[str]:
        """The distinct webhook-ids received."""
        with self._lock:
            return {r.webhook_id for r in self.records if r.webhook_id}

    def notice_ids(self, event_type: str | None = None) -> set[str]:
        with self._lock:
            return {
                r.notice_id for r in self.records if r.notice_id and (event_type is None or r.event_type == event_type)
            }

    def wait_for(self, predicate: Callable[["Receiver"], bool], timeout: float) -> bool:
        """Wait until predicate(self) holds (checked at every arrival and every 0.2 s)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if predicate(self):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(min(remaining, 0.2))

    # internals

    def _record(self, handler: "_Handler", raw: bytes) -> Received:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            secrets = dict(self._secrets)
        verified: dict[str, bool] = {}
        errors: dict[str, str] = {}
        for label, secret in secrets.items():
            try:
                Webhook(secret).verify(raw, headers)
                verified[label] = True
            except Exception as error:  # WebhookVerificationError, or a malformed header
                verified[label] = False
                errors[label] = f"{type(error).__name__}: {error}"
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        webhook_id = headers.get("webhook-id")
        # A request read late (a loaded machine) whose sender already gave up or was killed is not open:
        # its bytes were still in the socket buffer, but the gateway no longer counts it against the cap.
        gone = _peer_gone(handler.connection)
        with self._lock:
            attempt = self._attempts.get(webhook_id, 0) + 1
            self._attempts[webhook_id] = attempt
            record = Received(
                number=len(self.records) + 1,
                path=handler.path,
                webhook_id=webhook_id,
                timestamp=headers.get("webhook-timestamp"),
                signature=headers.get("webhook-signature"),
                raw=raw,
                body=body,
                verified=verified,
                errors=errors,
                arrived=time.time(),
                attempt=attempt,
                headers=headers,
            )
            self.records.append(record)
            self.in_progress += 1
            self.open_by_path.setdefault(record.path, 0)
            if gone:
                record._open = False  # type: ignore[attr-defined]
            else:
                self.open_by_path[record.path] += 1
            self.most_open_by_path[record.path] = max(
                self.most_open_by_path.get(record.path, 0), self.open_by_path[record.path]
            )
            self._lock.notify_all()
        return record

    def _closed(self, record: Received) -> None:
        """The request no longer counts as open on its path (answered, or its sender is gone)."""
        with self._lock:
            if getattr(record, "_open", True):
                record._open = False  # type: ignore[attr-defined]
                self.open_by_path[record.path] -= 1

    def _answered(self, record: Received, answer: int | str) -> None:
        self._closed(record)
        with self._lock:
            record.answer = answer
            record.answered = time.time()
            self.in_progress -= 1
            self._lock.notify_all()

    def _should_fail(self, record: Received) -> bool:
        if record.attempt != 1:
            return False
        rule = self.fail_first
        return rule(record) if callable(rule) else bool(rule)

    def _pause(self, connection: socket.socket | None = None, record: Received | None = None) -> None:
        delay = self.delay
        if isinstance(delay, tuple):
            delay = random.uniform(*delay)
        if delay <= 0:
            return
        if connection is None or record is None:
            time.sleep(delay)
            return
        # Sleep in small steps, watching for the sender hanging up: an HTTP/1.1 client sends nothing more
        # while it waits for the answer, so a readable socket here means it closed (or was killed).
        deadline = time.monotonic() + delay
        while (remaining := deadline - time.monotonic()) > 0:
            if _peer_gone(connection, wait=min(remaining, 0.005)):
                self._closed(record)
                time.sleep(max(0.0, deadline - time.monotonic()))
                return


def _peer_gone(connection: socket.socket, wait: float = 0.0) -> bool:
    """Whether the sender closed its side: an HTTP/1.1 client sends nothing more while it waits for the
    answer, so a readable socket with nothing to read means it hung up (or was killed)."""
    readable, _, _ = select.select([connection], [], [], wait)
    if not readable:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a connection the gateway (or a scripted reset) dropped: nothing to report


class _Handler(BaseHTTPRequestHandler):
    owner: Receiver
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway's HTTP client pools connections

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        receiver = self.owner
        record = receiver._record(self, raw)
        try:
            receiver._pause(self.connection, record)
            record.replying = time.time()
            if receiver._should_fail(record):
                if receiver.fail_mode == FAIL_CLOSE:
                    self._reset()
                    receiver._answered(record, FAIL_CLOSE)
                    return
                self._answer(receiver.fail_status, b'{"error":"scripted failure"}')
                receiver._answered(record, receiver.fail_status)
                return
            self._answer(204, b"")
            receiver._answered(record, 204)
        except OSError:  # the gateway went away (killed, or timed out) before the answer
            receiver._answered(record, "gone")
            self.close_connection = True

    def do_GET(self) -> None:
        self._answer(405, b"")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and status != 204:
            self.wfile.write(body)
        self.wfile.flush()

    def _reset(self) -> None:
        """Drop the connection with a TCP reset: no status line at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
