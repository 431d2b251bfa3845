"""Fixtures for the interoperability suite.

These tests drive the real `takedown` binary over HTTP and check what it produces with tools this
project did not write: joserfc, PyJWT and `cryptography` for the JWS, jsonschema/referencing for the
notice schema and the official XARF v4 schema.

The binary comes from TAKEDOWN_BIN (default: <repo>/.build/debug/takedown). Every server binds
127.0.0.1 on a free port with a fresh data directory, and is stopped with SIGTERM in a finalizer even
when a test fails; its log is attached to the report of a failing test.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TEMPLATES_DIR = REPO / "Templates"
SCHEMAS_DIR = REPO / "Schemas"
XARF_DIR = HERE / "xarf-v4"

READY_TIMEOUT = 20.0
METRICS_TOKEN = "interop-metrics-" + secrets.token_hex(16)
STOP_TIMEOUT = 15.0
HTTP_TIMEOUT = 15.0


def takedown_binary() -> Path:
    value = os.environ.get("TAKEDOWN_BIN")
    path = Path(value) if value else REPO / ".build" / "debug" / "takedown"
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def jws_parts(compact: str) -> tuple[dict, dict, bytes]:
    """Header, payload and signature of a compact JWS, decoded without any verification."""
    header, payload, signature = compact.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), b64url_decode(signature)


def tamper_payload(compact: str, **changes: Any) -> str:
    """The same JWS with its payload changed (and re-encoded) but the original signature kept."""
    header, payload, signature = compact.split(".")
    claims = json.loads(b64url_decode(payload))
    claims.update(changes)
    forged = b64url_encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    assert forged != payload
    return ".".join([header, forged, signature])


# --- JSON Schema ------------------------------------------------------------------------------------

FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
XARF_FILES = [XARF_DIR / "xarf-core.json", XARF_DIR / "xarf-v4-master.json", *sorted((XARF_DIR / "types").glob("*.json"))]


def load_registry(files: list[Path]) -> Registry:
    """Every schema file keyed by its `$id` (and by its file URI, for schemas without one)."""
    resources = []
    for path in files:
        contents = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(contents, dict) and "openapi" in contents:
            continue  # an OpenAPI document, not a schema
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        resources.append((path.resolve().as_uri(), resource))
        if isinstance(contents, dict) and contents.get("$id"):
            resources.append((contents["$id"], resource))
    return Registry().with_resources(resources)


def make_validator(schema_path: Path, registry: Registry) -> Draft202012Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    if "$id" not in schema:
        schema = {**schema, "$id": schema_path.resolve().as_uri()}
    return Draft202012Validator(schema, registry=registry, format_checker=FORMAT_CHECKER)


def errors_of(validator: Draft202012Validator, instance) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    ]


def assert_valid(validator: Draft202012Validator, instance, what: str) -> None:
    problems = errors_of(validator, instance)
    assert not problems, f"{what} does not validate:\n" + "\n".join(problems[:30])


# --- synthetic data ---------------------------------------------------------------------------------


def random_hashes(*, full: bool = True) -> dict[str, Any]:
    """Random, well-formed hashes: nothing here is the hash of anything real."""
    hashes: dict[str, Any] = {"sha256": secrets.token_hex(32)}
    if full:
        hashes.update(
            md5=secrets.token_hex(16),
            sha1=secrets.token_hex(20),
            pdq=secrets.token_hex(32),
            pdq_quality=90,
            photodna=base64.b64encode(secrets.token_bytes(144)).decode("ascii"),
        )
    return hashes


def item(url: str, *, ip: str | None = None, full: bool = True, observed_at: str = "2026-11-29T07:00:00Z") -> dict:
    entry: dict[str, Any] = {"url": url, "observed_at": observed_at, "hashes": random_hashes(full=full)}
    if ip is not None:
        entry["ip"] = ip
    return entry


def tag() -> str:
    return secrets.token_hex(4)


# --- PostgreSQL -------------------------------------------------------------------------------------

# The throw-away cluster scripts/test starts; tests that need it are skipped when it is unset.
TEST_DATABASE_URL = os.environ.get("TAKEDOWN_TEST_DATABASE_URL", "")


def psql(url: str, sql: str) -> str:
    """One statement through the psql client; its unaligned output."""
    result = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@contextmanager
def fresh_database(prefix: str = "takedown_interop") -> Iterator[str]:
    """A new database on the test cluster, dropped afterwards (with whatever still holds it open)."""
    if not TEST_DATABASE_URL:
        pytest.skip("TAKEDOWN_TEST_DATABASE_URL is not set")
    name = f"{prefix}_{secrets.token_hex(4)}"
    psql(TEST_DATABASE_URL, f"CREATE DATABASE {name}")
    try:
        yield TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        psql(TEST_DATABASE_URL, f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request) -> Iterator[dict[str, str]]:
    """A test using this runs on both stores: SQLite, and a fresh PostgreSQL database (skipped without
    TAKEDOWN_TEST_DATABASE_URL). Set up before the gateways, so the database is dropped after they stop."""
    if request.param == "sqlite":
        yield {}
        return
    with fresh_database("takedown_interop") as url:
        yield {"TAKEDOWN_DATABASE_URL": url}


# --- the server under test --------------------------------------------------------------------------


class GatewayError(AssertionError):
    pass


_LIVE: set["Gateway"] = set()


@atexit.register
def _stop_leftovers() -> None:
    """Last resort if pytest itself is killed between a start and its finalizer."""
    for gateway in list(_LIVE):
        gateway.stop()


class Gateway:
    """One `takedown serve` process on 127.0.0.1 with its own data directory."""

    def __init__(self, workdir: Path, name: str = "gateway", extra_env: dict[str, str] | None = None) -> None:
        self.name = name
        # More TAKEDOWN_* settings for this server (the webhook tests set the outbox ones here).
        self.extra_env = dict(extra_env or {})
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        # The folder the process starts in: its own, never the repository's (the binary carries its
        # templates and schemas).
        self.cwd = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / f"{name}.log"
        self.binary = takedown_binary()
        self.admin_token = "tdk_" + secrets.token_urlsafe(32)
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._log_file = None
        self.http = requests.Session()
        self.http.trust_env = False  # never go through a proxy: everything here is 127.0.0.1

    # process control

    @property
    def url(self) -> str:
        assert self.port is not None, "gateway not started"
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAKEDOWN_")}
        env.update(
            TAKEDOWN_BOOTSTRAP_ADMIN_TOKEN=self.admin_token,
            # URL verification would fetch the synthetic example.com/.test URLs of the tests from the
            # internet; tests contact loopback only, so it is off unless a test turns it on (test_verification.py).
            TAKEDOWN_VERIFY_WORKER="0",
            # The tests' mail relays (aiosmtpd on loopback) offer no STARTTLS; the gateway requires TLS unless
            # plain SMTP is allowed. It only matters where a test sets TAKEDOWN_SMTP_URL.
            TAKEDOWN_SMTP_PLAIN="1",
            # /metrics answers only the holder of this token on the API port.
            TAKEDOWN_METRICS_TOKEN=METRICS_TOKEN,
            # Tests send bursts far above any partner's rate; the limits have tests of their own
            # (test_hostile.py, test_defects.py, HardeningAPITests), which set them.
            TAKEDOWN_RATE_LIMITS="off",
        )
        env.update(self.extra_env)
        return env

    def _note(self, text: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"\n===== {time.strftime('%H:%M:%S')} {text}\n")

    def start(self, port: int | None = None) -> None:
        """Start `serve` and wait for /readyz 200. A server that exits or is not ready fails at once, with
        its log.

        Without `port`, a free port is picked right before the process starts. Another process can still
        take it in that moment; only when this attempt's own log proves it (the bind failed with
        EADDRINUSE) is the start tried again, on a new port, at most twice. Any other exit is a failure.
        """
        if not self.binary.is_file():
            raise GatewayError(f"takedown binary not found at {self.binary} (set TAKEDOWN_BIN)")
        assert self.proc is None, "gateway already running"
        attempts = 1 if port is not None else 3
        for attempt in range(attempts):
            chosen = port if port is not None else free_port()
            self._note(f"serve --port {chosen} --data-dir {self.data_dir} (attempt {attempt + 1})")
            log_offset = self.log_path.stat().st_size
            self._log_file = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [str(self.binary), "serve", "--host", "127.0.0.1", "--port", str(chosen), "--data-dir", str(self.data_dir)],
                cwd=self.cwd,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
            )
            self.port = chosen
            _LIVE.add(self)
            if self._wait_ready():
                return
            rc = self.proc.poll()
            self._reap()
            if rc is None:
                raise GatewayError(f"{self.name}: /readyz not 200 within {READY_TIMEOUT}s\n{self.log_tail()}")
            if attempt + 1 < attempts and self._address_in_use_since(log_offset):
                self._note(f"port {chosen} was taken meanwhile (EADDRINUSE in the log above): again on another port")
                continue
            raise GatewayError(f"{self.name}: server exited with status {rc} during start-up\n{self.log_tail()}")

    def _address_in_use_since(self, offset: int) -> bool:
        """Whether the log written since `offset` (one start attempt) reports the port as taken."""
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
        return "Address already in use" in text or "EADDRINUSE" in text

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.http.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> int | None:
        """SIGTERM, wait; SIGKILL only if it does not stop. Returns the exit status."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._note("did not stop after SIGTERM: SIGKILL")
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
                rc = None
        self._note(f"stopped, exit status {rc}")
        self._reap()
        return rc

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown code runs. The data directory and port stay for a restart."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        self._note(f"killed with SIGKILL, exit status {self.proc.returncode}")
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None
        _LIVE.discard(self)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self) -> None:
        port = self.port
        self.stop()
        self.start(port=port)

    def cli(self, *args: str, check: bool = True, timeout: float = 60, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run a `takedown` subcommand with the same environment as the server."""
        command = [str(self.binary), *args]
        result = subprocess.run(
            command, cwd=self.cwd, env=self.environment(), input=stdin, capture_output=True, text=True, timeout=timeout
        )
        self._note(f"cli {' '.join(args)} -> {result.returncode}\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}")
        if check and result.returncode != 0:
            raise GatewayError(f"takedown {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def log_tail(self, lines: int = 150) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # HTTP

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        accept: str | None = None,
        params: dict | None = None,
        expect: int | None = 200,
    ) -> requests.Response:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if accept is not None:
            headers["Accept"] = accept
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        response = self.http.request(
            method, self.url + path, headers=headers, data=data, params=params, timeout=HTTP_TIMEOUT
        )
        if expect is not None and response.status_code != expect:
            raise GatewayError(
                f"{method} {path}: expected {expect}, got {response.status_code}\n{response.text[:3000]}"
            )
        return response

    def get_json(self, path: str, token: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, token=token, **kwargs)
        return response.json()

    def post_json(self, path: str, body: Any, token: str, expect: int = 201) -> Any:
        return self.request("POST", path, token=token, body=body, expect=expect).json()

    # domain helpers

    def create_partner(
        self,
        *,
        name: str,
        locale: str,
        jurisdiction: str,
        domains: list[str],
        ip_ranges: list[str] | None = None,
        webhook_url: str | None = None,
    ) -> dict:
        body: dict[str, Any] = {
            "name": name,
            "kind": "hosting_provider",
            "contact_email": f"abuse@{domains[0]}",
            "locale": locale,
            "jurisdiction": jurisdiction,
            "routing": {"domains": domains, "ip_ranges": ip_ranges or []},
        }
        if webhook_url is not None:
            body["delivery"] = {"webhook_url": webhook_url}
        partner = self.post_json("/v1/partners", body, self.admin_token)
        assert partner["id"].startswith("ptn_"), partner
        assert partner["token"], partner
        return partner

    def create_analyst_token(self, name: str = "interop-analyst") -> str:
        result = self.cli("tokens", "create", "--role", "analyst", "--name", name, "--data-dir", str(self.data_dir))
        tokens = [word for word in result.stdout.split() if word.startswith("tdk_")]
        assert len(tokens) == 1, f"expected one token on stdout, got {result.stdout!r}"
        return tokens[0]

    def submit_case(self, body: dict, token: str | None = None) -> dict:
        return self.post_json("/v1/cases", body, token or self.admin_token)

    def jwks(self) -> dict:
        response = self.request("GET", "/.well-known/jwks.json")
        return response.json()

    def notice_jws(self, notice_id: str, token: str) -> str:
        response = self.request("GET", f"/v1/notices/{notice_id}", token=token, accept="application/jose")
        assert response.headers["content-type"].split(";")[0].strip() == "application/jose", response.headers
        return response.text.strip()

    def all_notices(self, token: str, limit: int = 2) -> list[dict]:
        """Every notice the token can see, following the cursor page by page."""
        notices: list[dict] = []
        after: str | None = None
        for _ in range(1000):
            params = {"limit": str(limit)}
            if after:
                params["after"] = after
            page = self.get_json("/v1/notices", token, params=params)
            notices.extend(page["notices"])
            if not page["notices"]:
                break
            assert page.get("next_cursor"), page
            after = page["next_cursor"]
        return notices


# --- pytest wiring ----------------------------------------------------------------------------------


def _gateways_of(item: pytest.Item) -> list[Gateway]:
    found: list[Gateway] = []
    for value in getattr(item, "funcargs", {}).values():
        candidates = [value, getattr(value, "gateway", None)] + list(getattr(value, "gateways", []) or [])
        for candidate in candidates:
            if isinstance(candidate, Gateway) and candidate not in found:
                found.append(candidate)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for gateway in _gateways_of(item):
            report.sections.append((f"takedown log ({gateway.name}, {gateway.log_path})", gateway.log_tail()))


class GatewayFactory:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.gateways: list[Gateway] = []

    def __call__(self, name: str = "gateway", start: bool = True, extra_env: dict[str, str] | None = None) -> Gateway:
        gateway = Gateway(self.root / f"{name}-{len(self.gateways)}", name=name, extra_env=extra_env)
        self.gateways.append(gateway)
        if start:
            gateway.start()
        return gateway

    def close(self) -> None:
        for gateway in self.gateways:
            try:
                gateway.stop()
            except Exception:  # keep stopping the others
                pass


@pytest.fixture
def gateway_factory(tmp_path: Path):
    factory = GatewayFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()


# --- one populated gateway shared by the read-only tests ------------------------------------------


@dataclass
class Partner:
    key: str
    locale: str
    id: str
    token: str
    jurisdiction: str


@dataclass
class IssuedNotice:
    id: str
    partner: Partner
    case: dict  # the submitted case body
    items: list[dict]  # the submitted items this notice carries


@dataclass
class World:
    gateway: Gateway
    analyst_token: str
    partners: dict[str, Partner]
    cases: list[dict] = field(default_factory=list)  # (submitted body, response) pairs as dicts
    notices: list[IssuedNotice] = field(default_factory=list)

    def notice_for(self, partner_key: str, reference_prefix: str | None = None) -> IssuedNotice:
        matches = [
            n
            for n in self.notices
            if n.partner.key == partner_key
            and (reference_prefix is None or n.case["reference"].startswith(reference_prefix))
        ]
        assert matches, f"no notice for {partner_key}"
        return matches[0]


PARTNER_SPECS = {
    # key: (locale, jurisdiction, domain, ip range)
    "de": ("de", "DE", "hoster-de.test", "192.0.2.0/25"),
    "fr": ("fr", "FR", "hoster-fr.test", "203.0.113.0/24"),
    "pt": ("pt", "PT", "hoster-pt.test", "198.51.100.0/24"),
    "gb": ("en", "GB", "hoster-gb.test", "192.0.2.128/25"),
}


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory):
    """A gateway with four providers and two cases.

    Case A (grade A, classification A1, images): two items for the German provider (one with an IP,
    one without), one for the Portuguese provider, one that routes nowhere.
    Case B (grade B, no classification, videos): two items for the French provider (one with an IP,
    one without) and one for the British provider.
    """
    gateway = Gateway(tmp_path_factory.mktemp("world"), name="world")
    try:
        gateway.start()
        analyst = gateway.create_analyst_token()
        partners: dict[str, Partner] = {}
        for key, (locale, jurisdiction, domain, cidr) in PARTNER_SPECS.items():
            created = gateway.create_partner(
                name=f"Interop Hosting {key.upper()} {tag()}",
                locale=locale,
                jurisdiction=jurisdiction,
                domains=[domain],
                ip_ranges=[cidr],
            )
            assert created["locale"] == locale, created
            partners[key] = Partner(key, locale, created["id"], created["token"], jurisdiction)

        case_a = {
            "reference": f"INTEROP-A-{tag()}",
            "category": {"uk_grade": "A", "classification": "A1"},
            "media_type": "image",
            "items": [
                item(f"https://cdn.hoster-de.test/a/{tag()}.jpg", ip="192.0.2.10"),
                item(f"https://files.hoster-de.test/b/{tag()}.jpg", full=False),
                item(f"https://img.hoster-pt.test/c/{tag()}.jpg", ip="198.51.100.20"),
                item(f"https://unrouted-{tag()}.test/d.jpg"),
            ],
        }
        case_b = {
            "reference": f"INTEROP-B-{tag()}",
            "category": {"uk_grade": "B"},
            "media_type": "video",
            "items": [
                item(f"https://media.hoster-fr.test/v/{tag()}.mp4", ip="203.0.113.5"),
                item(f"https://cdn.hoster-fr.test/w/{tag()}.mp4"),
                item(f"https://media.hoster-gb.test/x/{tag()}.mp4", full=False),
            ],
        }
        world = World(gateway=gateway, analyst_token=analyst, partners=partners)
        by_partner_id = {p.id: p for p in partners.values()}
        for body in (case_a, case_b):
            response = gateway.submit_case(body, analyst)
            assert response["id"], response
            world.cases.append({"body": body, "response": response})
            for notice in response["notices"]:
                partner = by_partner_id[notice["partner_id"]]
                urls = notice["items"]
                items = [i for i in body["items"] if i["url"] in urls]
                assert len(items) == len(urls), (urls, body)
                world.notices.append(IssuedNotice(notice["id"], partner, body, items))
        yield world
    finally:
        gateway.stop()
