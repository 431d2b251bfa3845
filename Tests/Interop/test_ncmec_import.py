"""Gateway to gateway: one gateway imports another's hash list over NCMEC's hash-sharing API v2.

Gateway A serves a list in the dialect; gateway B has a list with A's list as its source (A's base URL, and
B's partner id and token at A as the HTTP Basic credentials). After additions, reclassifications and
deletions at A and a pull at B, B's NDJSON export of its copy holds exactly A's live entries, each with its
origin. B runs on SQLite and on PostgreSQL. A SIGKILL of B in the middle of a multi-page pull (pages slowed by a relay on loopback), then a
restart, ends in the same state with every page counted once.

Hostile XML against the importer comes from a local server: XXE with a file and a network entity, billion
laughs, an external DTD, truncated and invalid documents, a page over the cap, a wrong namespace, a next
link to another host, an HTTP error and a redirect. Each is recorded as the source's error, nothing of it is
imported, nothing it names is fetched, and the gateway stays up; a good page afterwards is taken in.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from conftest import GatewayFactory, tag

NS = "https://hashsharing.ncmec.org/hashsharing/v2"
IMPORTER_ENV = {
    # The peer is on loopback: allow exactly that range, every other reserved address stays refused.
    "TAKEDOWN_ALLOWED_TARGETS": "127.0.0.1/32",
    # A pull whose process died is taken over once its claim lapses: 2 × 5 s + 10 s.
    "TAKEDOWN_IMPORT_TIMEOUT_SECONDS": "5",
    "TAKEDOWN_HASH_PUBLISH_INTERVAL_SECONDS": "0",
}


def entry(classification: str = "A1") -> dict:
    return {
        "media_type": "image",
        "hashes": {"md5": secrets.token_hex(16), "sha1": secrets.token_hex(20), "sha256": secrets.token_hex(32)},
        "classification": {"uk_grade": "A", "classification": classification},
    }


def new_list(gateway, name: str, partners: list[str]) -> str:
    body = {
        "name": name,
        "audience": "hosting_provider",
        "hash_types": ["md5", "sha1", "sha256"],
        "include": {"uk_grades": ["A"]},
        "partners": partners,
    }
    return gateway.post_json("/v1/hash-lists", body, gateway.admin_token)["id"]


def add(gateway, list_id: str, count: int) -> list[dict]:
    added = []
    for offset in range(0, count, 1_000):
        batch = [entry() for _ in range(min(1_000, count - offset))]
        added += gateway.post_json(f"/v1/hash-lists/{list_id}/entries", {"entries": batch}, gateway.admin_token)[
            "entries"
        ]
    return added


def live_export(gateway, list_id: str) -> list[dict]:
    """Publishes the list and returns its NDJSON export's lines."""
    published = gateway.request("POST", f"/v1/hash-lists/{list_id}/publish", token=gateway.admin_token, expect=None)
    assert published.status_code in (200, 201), published.text
    version = published.json()["manifest"]["version"]
    body = gateway.request(
        "GET",
        f"/v1/hash-lists/{list_id}/versions/{version}/export",
        token=gateway.admin_token,
        params={"format": "ndjson"},
    ).content
    return [json.loads(line) for line in body.decode().splitlines()]


def add_source(gateway, list_id: str, base_url: str, user: str, password: str) -> dict:
    body = {
        "name": f"peer {tag()}",
        "base_url": base_url,
        "username": user,
        "password": password,
        "uk_grade": "A",
        "interval_seconds": 86_400,
    }
    return gateway.post_json(f"/v1/hash-lists/{list_id}/sources", body, gateway.admin_token)


def source_of(gateway, list_id: str, source_id: str) -> dict:
    return gateway.get_json(f"/v1/hash-lists/{list_id}/sources/{source_id}", gateway.admin_token)


def pull(gateway, list_id: str, source_id: str, timeout: float = 90) -> dict:
    """Asks for a pull and waits until it has read its window to the end or recorded an error.

    A window ends at the whole second before the pull starts (the dialect's times are whole seconds), so the
    pull is asked for in the second after the test's last change."""
    time.sleep(1.05 - time.time() % 1)
    before = source_of(gateway, list_id, source_id).get("last_pull_at")
    gateway.request(
        "POST", f"/v1/hash-lists/{list_id}/sources/{source_id}/pull", token=gateway.admin_token, expect=202
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        source = source_of(gateway, list_id, source_id)
        if source.get("last_pull_at") != before and source["status"] in ("synced", "failing"):
            if source["status"] == "synced" or source["last_error_at"] >= source["last_pull_at"]:
                return source
        time.sleep(0.1)
    raise AssertionError(f"the pull did not finish: {source}")


def settle(gateway, list_id: str, source_id: str, timeout: float = 90) -> dict:
    """Waits for the pull a new source gets at once to end: synced, or failing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        source = source_of(gateway, list_id, source_id)
        if source["status"] in ("synced", "failing") and "last_pull_at" in source:
            return source
        time.sleep(0.1)
    raise AssertionError(f"the first pull did not end: {source}")


def member_number(gateway, list_id: str, partner: dict) -> int:
    response = requests.get(
        f"{gateway.url}/v1/hash-lists/{list_id}/ncmec/v2/members", auth=(partner["id"], partner["token"]), timeout=15
    )
    return int(response.text.split('<member id="')[1].split('"')[0])


class Peers:
    """Gateway A with a list granted to B's partner record there, and gateway B with a list importing it."""

    def __init__(
        self, factory: GatewayFactory, entries: int, relay: type | None = None, store: dict[str, str] | None = None
    ) -> None:
        self.a = factory("peer-a")
        # B reads A directly, or through a relay started in front of A.
        self.relay = relay(self.a.url) if relay else None
        self.b = factory("peer-b", extra_env={**IMPORTER_ENV, **(store or {})})
        self.partner = self.a.create_partner(
            name="Hotline B", locale="en", jurisdiction="GB", domains=[f"b-{tag()}.test"]
        )
        self.list_a = new_list(self.a, "Shared with B", [self.partner["id"]])
        self.added = add(self.a, self.list_a, entries)
        self.list_b = new_list(self.b, "From A", [])
        front = self.relay.url if self.relay else self.a.url
        self.base = f"{front}/v1/hash-lists/{self.list_a}/ncmec"
        # A new source is pulled at once; its window ends at the whole second before, so it is added in the
        # second after A's last change.
        time.sleep(1.05 - time.time() % 1)
        self.source = add_source(self.b, self.list_b, self.base, self.partner["id"], self.partner["token"])
        self.member = member_number(self.a, self.list_a, self.partner)

    def assert_copy(self) -> None:
        """B's export holds exactly A's live entries: same ids (as origins), hashes and classification."""
        a = {line["entry_id"]: line for line in live_export(self.a, self.list_a)}
        b = live_export(self.b, self.list_b)
        assert all(line["op"] == "upsert" for line in b)
        copies = {line["origin"]["id"]: line for line in b}
        assert len(copies) == len(b), "an entry of A was imported twice"
        assert copies.keys() == a.keys(), (len(copies), len(a))
        for remote_id, line in copies.items():
            assert line["origin"] == {"source": self.source["id"], "member": self.member, "id": remote_id}
            assert line["hashes"] == a[remote_id]["hashes"]
            assert line["classification"] == a[remote_id]["classification"]
            assert line["media_type"] == a[remote_id]["media_type"]


def test_a_gateway_imports_another_gateways_list_and_follows_its_changes(
    store_env: dict[str, str], gateway_factory: GatewayFactory
):
    peers = Peers(gateway_factory, 2_600, store=store_env)
    first = settle(peers.b, peers.list_b, peers.source["id"])
    assert first["status"] == "synced" and "last_error" not in first, first
    assert first["counts"] == {"pages": 3, "added": 2_600, "updated": 0, "deleted": 0, "unchanged": 0}
    peers.assert_copy()

    # At A: 40 more, 20 reclassified, 30 deleted as false positives. Then a pull at B.
    a, admin = peers.a, peers.a.admin_token
    more = add(a, peers.list_a, 40)
    for changed in peers.added[:20]:
        a.request(
            "PATCH",
            f"/v1/hash-lists/{peers.list_a}/entries/{changed['id']}",
            token=admin,
            body={"classification": {"uk_grade": "A", "classification": "B2"}},
        )
    for gone in peers.added[20:50] + more[:2]:
        a.request("DELETE", f"/v1/hash-lists/{peers.list_a}/entries/{gone['id']}?reason=false_positive", token=admin)
    second = pull(peers.b, peers.list_b, peers.source["id"])
    assert second["status"] == "synced", second
    counts = second["counts"]
    # Added: 2,600 + 40; the overlap re-reads earlier changes, which are counted as unchanged only.
    assert (counts["added"], counts["updated"], counts["deleted"]) == (2_640, 20, 32), counts
    peers.assert_copy()

    # The tombstones at B say why, and where they came from.
    feed = peers.b.request(
        "GET", f"/v1/hash-lists/{peers.list_b}/changes", token=peers.b.admin_token, params={"limit": "10000"}
    ).text.splitlines()
    tombstones = [json.loads(line) for line in feed if '"op":"delete"' in line]
    assert len(tombstones) == 32 and all(t["reason"] == "false_positive" for t in tombstones)
    assert {t["origin"]["id"] for t in tombstones} == {e["id"] for e in peers.added[20:50] + more[:2]}

    # A third pull with nothing new changes nothing.
    third = pull(peers.b, peers.list_b, peers.source["id"])
    assert {k: third["counts"][k] for k in ("added", "updated", "deleted")} == {
        "added": 2_640,
        "updated": 20,
        "deleted": 32,
    }
    # Every page B read is in A's download log, as B's partner record.
    log = a.get_json(f"/v1/hash-lists/{peers.list_a}/downloads?limit=1000", admin)["downloads"]
    assert sum(1 for row in log if row["format"] == "ncmec" and row["partner_id"] == peers.partner["id"]) >= 5


class LoopbackServer:
    """An HTTP server on a free loopback port, in a daemon thread, answering GETs with `answer(handler)`.
    A peer hanging up mid-answer is expected (an importer killed, or one that stopped at its cap); any other
    error is kept in `errors` for the test to assert on, not lost in the server's thread."""

    protocol = "HTTP/1.0"

    def __init__(self) -> None:
        self.errors: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = server.protocol

            def do_GET(self) -> None:  # noqa: N802
                try:
                    server.answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                except Exception as error:  # noqa: BLE001
                    server.errors.append(repr(error))

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SlowRelay(LoopbackServer):
    """Forwards GETs to gateway A on loopback, each after a pause, so a pull spans seconds."""

    def __init__(self, target: str, pause: float) -> None:
        self.target, self.pause, self.pages = target, pause, 0
        super().__init__()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        time.sleep(self.pause)
        upstream = requests.get(
            self.target + handler.path, headers={"Authorization": handler.headers["Authorization"]}, timeout=30
        )
        self.pages += 1
        handler.send_response(upstream.status_code)
        handler.send_header("Content-Type", upstream.headers.get("Content-Type", "application/xml"))
        handler.send_header("Content-Length", str(len(upstream.content)))
        handler.end_headers()
        handler.wfile.write(upstream.content)


def test_a_pull_killed_midway_resumes_without_loss_or_double_counting(
    store_env: dict[str, str], gateway_factory: GatewayFactory
):
    entries = 6_000
    peers = Peers(gateway_factory, entries, relay=lambda target: SlowRelay(target, pause=0.6), store=store_env)
    relay = peers.relay
    try:
        # The pull a new source gets at once, slowed by the relay: killed once two pages are stored.
        b, list_b, source_id = peers.b, peers.list_b, peers.source["id"]
        deadline = time.monotonic() + 60
        while True:
            source = source_of(b, list_b, source_id)
            if source["counts"]["pages"] >= 2:
                break
            assert time.monotonic() < deadline, source
            time.sleep(0.05)
        b.kill()
        assert source["status"] == "reading" and source["window"].get("next"), source
        b.start()
        killed_at = source_of(b, list_b, source_id)
        assert 2 <= killed_at["counts"]["pages"] < entries // 1_000, killed_at
        # The restarted gateway takes the pull over once the dead one's claim lapses, from the first page
        # not stored.
        deadline = time.monotonic() + 120
        while True:
            source = source_of(b, list_b, source_id)
            if source["status"] == "synced":
                break
            assert source["status"] != "failing", source
            assert time.monotonic() < deadline, source
            time.sleep(0.2)
        assert source["counts"] == {"pages": 6, "added": entries, "updated": 0, "deleted": 0, "unchanged": 0}, source
        peers.assert_copy()
        assert relay.errors == []
        # The pages in flight at the kill (the one being applied, and the next, read ahead of it) were served
        # twice at most, every other page once.
        assert relay.pages in (6, 7, 8), relay.pages
    finally:
        relay.close()


class HostileSource(LoopbackServer):
    """Answers every GET with the document the test sets, and notes every path asked for (a DTD or an entity
    fetched would show here)."""

    protocol = "HTTP/1.1"

    def __init__(self) -> None:
        self.status, self.body, self.headers, self.chunked = 200, b"", {}, False
        self.paths: list[str] = []
        super().__init__()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        self.paths.append(handler.path)
        handler.send_response(self.status)
        handler.send_header("Content-Type", "application/xml")
        for name, value in self.headers.items():
            handler.send_header(name, value)
        if self.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for start in range(0, len(self.body), 8192):
                part = self.body[start : start + 8192]
                handler.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            handler.wfile.write(b"0\r\n\r\n")
        else:
            handler.send_header("Content-Length", str(len(self.body)))
            handler.end_headers()
            handler.wfile.write(self.body)


def image(remote_id: str) -> str:
    return (
        f'<image><member id="9">Peer</member><timestamp>2026-11-30T10:00:00Z</timestamp><id>{remote_id}</id>'
        f"<classification>A1</classification><fingerprints><md5>{secrets.token_hex(16)}</md5>"
        f"<sha256>{secrets.token_hex(32)}</sha256></fingerprints></image>"
    )


def page(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="{NS}">{body}</queryResult>'.encode()


def test_hostile_pages_are_recorded_as_the_sources_error_and_change_nothing(gateway_factory: GatewayFactory):
    hostile = HostileSource()
    gateway = gateway_factory(
        "importer", extra_env={**IMPORTER_ENV, "TAKEDOWN_IMPORT_MAX_PAGE_BYTES": "65536"}
    )
    try:
        list_id = new_list(gateway, "Hostile peer", [])
        source = add_source(gateway, list_id, hostile.url + "/hashsharing", "esp", "pw")
        assert "empty" in settle(gateway, list_id, source["id"])["last_error"]
        good = image("1")
        cases = [
            (
                "XXE file entity",
                page(f"<images>{good}</images>").replace(
                    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                    b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                ).replace(b"<id>1</id>", b"<id>&x;</id>"),
                "<!DOCTYPE>",
            ),
            (
                "XXE network entity",
                f'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x SYSTEM "{hostile.url}/entity">]>'
                f'<queryResult xmlns="{NS}"><images>{good}</images>&x;</queryResult>'.encode(),
                "<!DOCTYPE>",
            ),
            (
                "billion laughs",
                (
                    '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
                    '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>'
                    f'<queryResult xmlns="{NS}"><images>{good.replace("<id>1</id>", "<id>&f;</id>")}</images>'
                    "</queryResult>"
                ).encode(),
                "",  # refused at the declaration or by libxml2's amplification check: either way, an error
            ),
            (
                "external DTD",
                f'<?xml version="1.0"?><!DOCTYPE queryResult SYSTEM "{hostile.url}/evil.dtd">'
                f'<queryResult xmlns="{NS}"><images>{good}</images></queryResult>'.encode(),
                "<!DOCTYPE>",
            ),
            ("truncated", page(f"<images>{good}</images>")[:-40], "not well-formed"),
            ("not XML", b"Service unavailable", "not well-formed"),
            ("another document", b"<html><body>Service unavailable</body></html>", "the root is <html>"),
            ("empty", b"", "empty"),
            ("wrong namespace", page(f"<images>{good}</images>").replace(NS.encode(), b"urn:other"), "namespace"),
            ("bad fingerprint", page(f"<images>{good.replace('<md5>', '<md5>zz')}</images>"), "md5"),
            (
                "next link elsewhere",
                page(f"<images>{good}</images><paging><next>http://127.0.0.2:9/v2/entries?start=2</next></paging>"),
                "next link",
            ),
            ("over the cap", page("<images>" + image("2") * 400 + "</images>"), "cap"),
        ]
        for name, document, expected in cases:
            hostile.status, hostile.body, hostile.headers, hostile.chunked = 200, document, {}, False
            result = pull(gateway, list_id, source["id"])
            assert result["status"] == "failing", (name, result)
            assert expected in result["last_error"], (name, result["last_error"])
            assert result["counts"]["pages"] == 0, (name, result)
        # The same page over the cap without a Content-Length, read until the cap.
        hostile.chunked = True
        result = pull(gateway, list_id, source["id"])
        assert "cap" in result["last_error"], result
        hostile.chunked = False
        # An HTTP error and a redirect (never followed).
        hostile.status, hostile.body = 500, b"oops"
        assert "HTTP 500" in pull(gateway, list_id, source["id"])["last_error"]
        hostile.status, hostile.headers = 302, {"Location": f"{hostile.url}/elsewhere"}
        assert "HTTP 302" in pull(gateway, list_id, source["id"])["last_error"]

        # Nothing was imported, nothing named in a document was fetched, the gateway is up.
        assert gateway.get_json(f"/v1/hash-lists/{list_id}", gateway.admin_token)["last_seq"] == 0
        assert all(path.startswith("/hashsharing/v2/entries?") for path in hostile.paths), hostile.paths
        assert gateway.http.get(f"{gateway.url}/readyz", timeout=5).status_code == 200
        assert hostile.errors == []

        # A good page afterwards is taken in, and the error is cleared.
        hostile.status, hostile.headers, hostile.body = 200, {}, page(f"<images>{good}{image('3')}</images>")
        result = pull(gateway, list_id, source["id"])
        assert result["status"] == "synced" and "last_error" not in result, result
        assert result["counts"]["added"] == 2
        assert gateway.get_json(f"/v1/hash-lists/{list_id}", gateway.admin_token)["entry_count"] == 2
    finally:
        hostile.close()
