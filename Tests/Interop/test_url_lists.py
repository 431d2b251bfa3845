"""URL lists end to end, as a partner who blocks or filters consumes one, with the built `takedown serve`.

A URL list is a list of kind `urls` on the hash-list routes: a notice's URLs join when it is issued and leave
once verification finds them gone. The consumer's checks are the hash lists' own (`test_hash_lists`): the
manifest's JWS verified with joserfc and PyJWT against the JWKS, every export's SHA-256 and size, the change
feed replayed to the same set. Verification runs for real against a loopback web server (the only host
contacted), routed by `127.0.0.1/32`. Every body is validated against Schemas/openapi.json.
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import errors_of, tag
from test_hash_lists import NO_AUTO_PUBLISH, export_params, fetch, ndjson, sha256_hex, verify_manifest
from test_openapi import OPENAPI_PATH, OpenAPI

# joserfc flags "EdDSA" as deprecated by RFC 9864; the design fixes the name (see test_jws.py).
pytestmark = pytest.mark.filterwarnings("ignore:.*EdDSA")

CONTENT = b"synthetic interop page bytes, not an image"


class _Host(BaseHTTPRequestHandler):
    """Serves CONTENT on every path until the test takes the site down; 404 after."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        if not self.server.down:  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(CONTENT)))
            self.end_headers()
            self.wfile.write(CONTENT)
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def wait_for(condition, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the verification worker")


def replay(gateway, path: str, token: str, spec: OpenAPI) -> dict[str, dict]:
    """Follows the change feed from the start, three lines a page; the URLs as the feed leaves them."""
    change = spec.validator("/components/schemas/HashListChange")
    state: dict[str, dict] = {}
    after = None
    for _ in range(1000):
        params = {"limit": "3", **({"after": after} if after else {})}
        page = fetch(gateway, path + "/changes", token, params=params)
        for line in ndjson(page.body):
            assert not errors_of(change, line), (line, errors_of(change, line))
            assert line["hashes"] == {} and line["url"].startswith("http"), line
            state[line["url"]] = line
        after = page.headers["Takedown-Next-Cursor"]
        if page.headers["Takedown-Has-More"] != "true":
            return state
    raise AssertionError("the feed did not end")


def check_version(gateway, path: str, token: str, version: int, spec: OpenAPI) -> tuple[bytes, dict, dict]:
    """The version's manifest verified like a consumer would, and every export checked against it."""
    raw = fetch(gateway, f"{path}/versions/{version}/manifest", token).body
    payload, manifest = verify_manifest(raw, gateway.jwks())
    assert not errors_of(spec.validator("/components/schemas/HashListManifest"), manifest), manifest
    assert manifest["kind"] == "urls" and manifest["version"] == version, manifest
    assert [(e["format"], e["hash"]) for e in manifest["exports"]] == [("ndjson", None), ("csv", None), ("text", None)]
    files: dict[str, bytes] = {}
    for export in manifest["exports"]:
        body = fetch(gateway, f"{path}/versions/{version}/export", token, params=export_params(export)).body
        assert (sha256_hex(body), len(body)) == (export["sha256"], export["bytes"]), export
        files[export["format"]] = body
    text = files["text"].decode("utf-8")
    assert not errors_of(spec.validator("/components/schemas/HashListText"), text), text
    assert not errors_of(spec.validator("/components/schemas/HashListCSV"), files["csv"].decode("utf-8"))
    urls = text.splitlines()
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode("utf-8"))))
    lines = ndjson(files["ndjson"])
    assert sorted(urls) == sorted(r["url"] for r in rows) == sorted(l["url"] for l in lines), (urls, rows, lines)
    assert len(urls) == manifest["entry_count"], manifest
    return payload, manifest, {"urls": set(urls), "rows": rows}


def test_a_url_list_is_verified_consumed_and_drops_urls_found_gone(store_env, gateway_factory):
    spec = OpenAPI(OPENAPI_PATH)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Host)
    server.daemon_threads = True
    server.down = False  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="host", daemon=True)
    thread.start()
    try:
        gateway = gateway_factory(
            "url-lists",
            extra_env={
                **NO_AUTO_PUBLISH, **store_env,
                "TAKEDOWN_URL_LIST_PUBLISH_INTERVAL_SECONDS": "0",
                "TAKEDOWN_VERIFY_WORKER": "1",
                "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
                "TAKEDOWN_VERIFY_POLL_SECONDS": "0.2",
                "TAKEDOWN_VERIFY_TIMEOUT_SECONDS": "5",
            },
        )
        admin = gateway.admin_token
        base = f"http://127.0.0.1:{server.server_address[1]}"
        host = gateway.create_partner(
            name=f"Loopback Hosting {tag()}", locale="en", jurisdiction="GB", domains=["loopback-url.test"],
            ip_ranges=["127.0.0.1/32"],
        )
        isp = gateway.create_partner(name=f"Filtering ISP {tag()}", locale="en", jurisdiction="GB", domains=["isp-url.test"])
        outsider = gateway.create_partner(name=f"Outsider {tag()}", locale="de", jurisdiction="DE", domains=["out-url.test"])
        hashes = {"md5": hashlib.md5(CONTENT).hexdigest(), "sha256": hashlib.sha256(CONTENT).hexdigest()}

        def case(grade: str, paths: list[str]) -> str:
            receipt = gateway.submit_case({
                "reference": f"URL-{tag()}", "category": {"uk_grade": grade}, "media_type": "image",
                "items": [{"url": base + p, "observed_at": "2026-11-29T07:00:00Z", "hashes": hashes} for p in paths],
            })
            [issued] = receipt["notices"]
            return issued["id"]

        # Issued before the list exists (taken in when it is created), then after (joining as issued).
        first = case("A", ["/a/1.jpg", "/a,b/2.jpg"])
        created = gateway.post_json(
            "/v1/hash-lists",
            {"name": f"interop-urls-{tag()}", "kind": "urls", "audience": "hosting_provider",
             "include": {"uk_grades": ["A", "B"]}, "partners": [isp["id"]]},
            admin,
        )
        assert not errors_of(spec.validator("/components/schemas/HashList"), created), created
        assert created["kind"] == "urls" and created["hash_types"] == [] and created["entry_count"] == 2, created
        path = f"/v1/hash-lists/{created['id']}"
        second = case("B", ["/b/3.jpg"])
        case("C", ["/c/4.jpg"])  # a grade the list does not take
        by_hand = gateway.post_json(
            path + "/entries",
            {"entries": [{"url": "https://Mirror.example.com/x.jpg", "media_type": "image", "classification": {"uk_grade": "A"}}]},
            admin,
        )["entries"][0]
        assert not errors_of(spec.validator("/components/schemas/HashListEntry"), by_hand), by_hand
        assert by_hand["url"] == "https://mirror.example.com/x.jpg", by_hand

        live = {base + "/a/1.jpg", base + "/a,b/2.jpg", base + "/b/3.jpg", "https://mirror.example.com/x.jpg"}
        assert {u for u, line in replay(gateway, path, isp["token"], spec).items() if line["op"] == "upsert"} == live

        # Version 1, as the ISP downloads it; the URL with a comma is quoted in the CSV and read back whole.
        gateway.request("POST", path + "/publish", token=admin, expect=201)
        payload1, _, files = check_version(gateway, path, isp["token"], 1, spec)
        assert files["urls"] == live, files
        # The provider the notices went to, and anyone else not granted the list, do not learn it exists.
        for partner in (host, outsider):
            fetch(gateway, path + "/versions/1/manifest", partner["token"], expect=404)
            fetch(gateway, path + "/changes", partner["token"], expect=404)

        # The host takes the first case's pages down and says so: checked at once, found gone, they leave.
        server.down = True  # type: ignore[attr-defined]
        gateway.post_json(f"/v1/notices/{first}/removal", {"action": "removed"}, host["token"], expect=200)

        def gone() -> dict | None:
            state = replay(gateway, path, isp["token"], spec)
            left = {u: line["reason"] for u, line in state.items() if line["op"] == "delete"}
            return state if left == {base + "/a/1.jpg": "gone", base + "/a,b/2.jpg": "gone"} else None

        state = wait_for(gone)
        assert state[base + "/b/3.jpg"]["op"] == "upsert", state
        assert gateway.get_json(f"/v1/notices/{first}", admin)["status"] == "verified"

        # Staff take the mirror off by hand; version 2 chains to version 1 and holds what is left.
        gateway.request("DELETE", f"{path}/entries/{by_hand['id']}", token=admin, params={"reason": "false_positive"})
        gateway.request("POST", path + "/publish", token=admin, expect=201)
        _, manifest2, files = check_version(gateway, path, isp["token"], 2, spec)
        assert files["urls"] == {base + "/b/3.jpg"}, files
        assert manifest2["previous_manifest_sha256"] == hashlib.sha256(payload1).hexdigest(), manifest2
        assert gateway.get_json(f"/v1/notices/{second}", admin)["status"] != "verified"
    finally:
        server.shutdown()
        server.server_close()
