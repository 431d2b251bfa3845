"""URL verification end to end: the built `takedown serve` checks removed items on a loopback web server.

The gateway runs with its verification worker on (it is off in the other interop tests, whose URLs are
synthetic internet hosts) and `TAKEDOWN_ALLOW_PRIVATE_TARGETS=1`, so it may reach this module's server on
127.0.0.1. Items are routed by the `127.0.0.1/32` range. A removal report is checked at once: an item whose
bytes are still served re-opens the notice (`removal_not_verified`); once every item is gone the notice is
`verified` and the removal figures count it. Every record is validated against Schemas/openapi.json.
"""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conftest import METRICS_TOKEN, errors_of, tag
from test_openapi import OPENAPI_PATH, OpenAPI

CONTENT = b"synthetic interop item bytes, not an image"


class _ContentHandler(BaseHTTPRequestHandler):
    """GET /item serves CONTENT until the test says it is gone; GET /gone is 404."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        self.server.seen.append((self.path, self.headers.get("User-Agent")))  # type: ignore[attr-defined]
        if self.path == "/item" and not self.server.removed:  # type: ignore[attr-defined]
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


def test_removal_is_verified_against_the_served_bytes(gateway_factory):
    spec = OpenAPI(OPENAPI_PATH)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ContentHandler)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    server.removed = False  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="content", daemon=True)
    thread.start()
    try:
        gateway = gateway_factory(
            "verification",
            extra_env={
                "TAKEDOWN_VERIFY_WORKER": "1",
                "TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1",
                "TAKEDOWN_VERIFY_POLL_SECONDS": "0.2",
                "TAKEDOWN_VERIFY_TIMEOUT_SECONDS": "5",
            },
        )
        admin = gateway.admin_token
        base = f"http://127.0.0.1:{server.server_address[1]}"
        partner = gateway.create_partner(
            name=f"Loopback Hosting {tag()}", locale="en", jurisdiction="GB", domains=["loopback.test"],
            ip_ranges=["127.0.0.1/32"],
        )
        hashes = {
            "md5": hashlib.md5(CONTENT).hexdigest(),
            "sha1": hashlib.sha1(CONTENT).hexdigest(),
            "sha256": hashlib.sha256(CONTENT).hexdigest(),
        }
        receipt = gateway.submit_case({
            "reference": f"VERIFY-{tag()}", "category": {"uk_grade": "A"}, "media_type": "image",
            "items": [
                {"url": f"{base}/item", "observed_at": "2026-11-29T07:00:00Z", "hashes": hashes},
                {"url": f"{base}/gone", "observed_at": "2026-11-29T07:00:00Z", "hashes": hashes},
            ],
        })
        [issued] = receipt["notices"]
        notice_id = issued["id"]
        record_path = f"/v1/notices/{notice_id}/verifications"

        def record(count: int) -> dict | None:
            body = gateway.get_json(record_path, admin)
            assert not errors_of(spec.validator("/components/schemas/VerificationList"), body), body
            return body if len(body["checks"]) >= count else None

        # The provider says both are removed, but /item still serves the same bytes.
        gateway.post_json(f"/v1/notices/{notice_id}/removal", {"action": "removed"}, partner["token"], expect=200)
        first = wait_for(lambda: record(2))
        outcomes = {check["url"]: check["outcome"] for check in first["checks"]}
        assert outcomes == {f"{base}/item": "still_served", f"{base}/gone": "gone"}, first
        assert {check["http_status"] for check in first["checks"]} == {200, 404}, first
        notice = gateway.get_json(f"/v1/notices/{notice_id}", admin)
        assert not errors_of(spec.validator("/components/schemas/NoticeView"), notice), notice
        assert notice["status"] == "acknowledged" and "removed_at" not in notice, notice
        assert notice["timeline"][-1]["event"] == "removal_not_verified", notice["timeline"]
        items = {entry["url"]: entry for entry in notice["items"]}
        assert "verified_at" in items[f"{base}/gone"] and "verified_at" not in items[f"{base}/item"], items
        assert "removed_at" not in items[f"{base}/item"], items

        # Removed for real: reported again, checked at once, verified.
        server.removed = True  # type: ignore[attr-defined]
        gateway.post_json(f"/v1/notices/{notice_id}/removal", {"action": "removed"}, partner["token"], expect=200)
        final = wait_for(lambda: record(3))
        assert final["checks"][-1]["url"] == f"{base}/item" and final["checks"][-1]["outcome"] == "gone", final
        assert final["status"] == "verified" and final["verified_at"] and final["next_check_at"] is None, final
        notice = gateway.get_json(f"/v1/notices/{notice_id}", admin)
        assert notice["status"] == "verified" and notice["timeline"][-1]["event"] == "verified", notice
        stats = gateway.get_json("/v1/stats/removal", admin)
        [whole] = stats["groups"]
        assert whole["verified"] == 1 and whole["time_to_verified_removal"]["count"] == 1, whole

        metrics = gateway.request("GET", "/metrics", token=METRICS_TOKEN).text
        assert 'takedown_verification_checks_total{outcome="still_served"} 1' in metrics, metrics[-3000:]
        assert 'takedown_verification_checks_total{outcome="gone"} 2' in metrics, metrics[-3000:]
        assert f'takedown_time_to_verified_removal_seconds_count{{partner="{partner["id"]}"}} 1' in metrics, metrics[-3000:]

        # Only this server was contacted, by the gateway's verification client; no content was kept.
        assert {path for path, _ in server.seen} == {"/item", "/gone"}, server.seen
        assert all(agent and agent.startswith("takedown-gateway/") for _, agent in server.seen), server.seen
        for name in ("takedown.sqlite", "takedown.sqlite-wal"):
            stored = gateway.data_dir / name
            assert not stored.exists() or CONTENT not in stored.read_bytes(), name
    finally:
        server.shutdown()
        server.server_close()
