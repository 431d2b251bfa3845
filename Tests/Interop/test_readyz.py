"""`/readyz` tells a load balancer the truth: not ready (non-2xx) while the store is down or the signing
keys are gone, ready again once they are back; `/healthz` (liveness) stays 200 throughout.

- SQLite: the database file of a running gateway is deleted (the process still holds the old, unlinked
  file open, so whatever it accepts now is lost at the next start);
- keys: the key files of a running gateway are deleted (the next start would make a new key, and every
  notice signed so far could no longer be checked against the published JWKS);
- PostgreSQL at start-up: the URL names a port where nothing listens;
- PostgreSQL at run time: the gateway's database stops accepting connections and its sessions are
  ended, then it accepts them again.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time

import requests

from conftest import TEST_DATABASE_URL, Gateway, GatewayFactory, free_port, fresh_database, psql

SETTLE = 10.0  # seconds a check may take to notice a change


def readiness(gateway: Gateway) -> requests.Response:
    return gateway.http.get(gateway.url + "/readyz", timeout=10)


def wait_status(gateway: Gateway, ok: bool, seconds: float = SETTLE) -> requests.Response:
    """The first /readyz answer that is 2xx (ok) or not (not ok), within `seconds`; the last one otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            response = readiness(gateway)
        except requests.Timeout:
            raise AssertionError("/readyz did not answer within 10 s") from None
        if (200 <= response.status_code < 300) == ok or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def assert_not_ready(gateway: Gateway, check: str) -> dict:
    response = wait_status(gateway, ok=False)
    assert not 200 <= response.status_code < 300, (
        f"/readyz still {response.status_code} {response.text} {SETTLE}s after the {check} went away"
    )
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "not ready" and body["checks"][check] != "ok", body
    assert gateway.http.get(gateway.url + "/healthz", timeout=10).status_code == 200, "liveness must not fail"
    return body


def test_readyz_fails_when_the_sqlite_database_file_is_gone(gateway_factory: GatewayFactory):
    gateway = gateway_factory("ready-sqlite")
    assert readiness(gateway).json()["checks"]["store"] == "ok"
    for suffix in ("", "-wal", "-shm"):
        (gateway.data_dir / f"takedown.sqlite{suffix}").unlink(missing_ok=True)
    assert_not_ready(gateway, "store")


def test_readyz_fails_when_the_signing_keys_cannot_be_read(gateway_factory: GatewayFactory):
    """The keys live in the store and are read again every TAKEDOWN_KEY_REFRESH_SECONDS: a key row that no
    longer opens (edited, or sealed with another instance's secrets key) makes the instance not ready, and
    it keeps signing with the keys it read last."""
    gateway = gateway_factory("ready-keys", extra_env={"TAKEDOWN_KEY_REFRESH_SECONDS": "0.2"})
    assert readiness(gateway).json()["checks"]["keys"] == "ok"
    database = gateway.data_dir / "takedown.sqlite"
    with sqlite3.connect(database) as db:
        [(kid, sealed)] = db.execute("SELECT kid, private_key FROM signing_keys").fetchall()
        db.execute("UPDATE signing_keys SET private_key = ? WHERE kid = ?", ("aesgcm1:" + "A" * 60, kid))
    assert_not_ready(gateway, "keys")
    assert "could not be read again" in readiness(gateway).json()["checks"]["keys"]
    jwks = gateway.jwks()
    assert [k["kid"] for k in jwks["keys"]] == [kid], jwks
    with sqlite3.connect(database) as db:
        db.execute("UPDATE signing_keys SET private_key = ? WHERE kid = ?", (sealed, kid))
    response = wait_status(gateway, ok=True)
    assert response.status_code == 200, f"not ready again once the key opens: {response.text}"


def test_gateway_with_an_unreachable_postgres_never_reports_ready(tmp_path):
    """Nothing listens at the database URL: the server must not start answering ready (it may exit)."""
    gateway = Gateway(tmp_path / "unreachable", name="ready-nopg")
    gateway.extra_env["TAKEDOWN_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{free_port()}/takedown"
    port = free_port()
    log = open(gateway.log_path, "ab")
    process = subprocess.Popen(
        [str(gateway.binary), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(gateway.data_dir)],
        cwd=gateway.workdir, env=gateway.environment(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        statuses = set()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and process.poll() is None:
            try:
                statuses.add(requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code)
            except requests.RequestException:
                pass
            time.sleep(0.2)
        ready = {s for s in statuses if 200 <= s < 300}
        assert not ready, f"/readyz answered {ready} without a database\n{gateway.log_tail(30)}"
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)
        log.close()


def test_readyz_follows_postgres_going_away_and_coming_back(gateway_factory: GatewayFactory):
    with fresh_database("takedown_ready") as url:
        name = url.rsplit("/", 1)[1]
        gateway = gateway_factory("ready-postgres", extra_env={"TAKEDOWN_DATABASE_URL": url})
        try:
            assert readiness(gateway).status_code == 200
            psql(TEST_DATABASE_URL, f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
            psql(TEST_DATABASE_URL, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            assert_not_ready(gateway, "store")
            psql(TEST_DATABASE_URL, f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
            response = wait_status(gateway, ok=True, seconds=30)
            assert response.status_code == 200, f"not ready again once the database is back: {response.text}"
        finally:
            psql(TEST_DATABASE_URL, f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
            gateway.stop()
