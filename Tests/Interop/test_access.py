"""Access and secrets at rest, against the built binary: restarts with the bootstrap token still set,
key files others may read, webhook secrets sealed in the database (SQLite file bytes and a PostgreSQL
dump), plain rows of an older gateway sealed on upgrade, and a suspended partner's pushes held.
"""

from __future__ import annotations

import base64
import secrets
import sqlite3
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import Gateway, GatewayError, GatewayFactory, fresh_database, item, tag
from receiver import Receiver

WEBHOOK_ENV = {"TAKEDOWN_ALLOW_PRIVATE_TARGETS": "1", "TAKEDOWN_RETRY_SCHEDULE": "0,1,1,1"}
SEALED = b"aesgcm1:"


def files_under(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def secret_forms(secret: str) -> list[bytes]:
    """A webhook secret as it could sit in a file: whole, its base64 part, and its raw bytes."""
    import base64

    encoded = secret.removeprefix("whsec_")
    return [secret.encode(), encoded.encode(), base64.b64decode(encoded)]


def assert_no_secret(where: str, contents: dict[str, bytes], secrets: list[str]) -> None:
    found = [f"{name}" for secret in secrets for needle in secret_forms(secret) for name, data in contents.items() if needle in data]
    assert not found, f"{where}: webhook secrets stored in the clear in {found}"
    assert any(SEALED in data for data in contents.values()), f"{where}: no sealed secret in {sorted(contents)}: wrong bytes?"


def hooked_partner(gateway: Gateway, url: str) -> dict:
    return gateway.create_partner(
        name=f"Sealed Hosting {tag()}", locale="en", jurisdiction="GB", domains=[f"sealed-{tag()}.test"], webhook_url=url
    )


def start_fails(gateway: Gateway) -> str:
    """Starts a gateway that must refuse to start; returns its log."""
    with pytest.raises(GatewayError) as refused:
        gateway.start()
    return str(refused.value)


# --- the bootstrap token ------------------------------------------------------------------------------


def test_restart_with_a_revoked_bootstrap_token_starts_and_does_not_bring_it_back(gateway_factory: GatewayFactory):
    gateway = gateway_factory("bootstrap")
    bootstrap = gateway.admin_token
    second = gateway.post_json("/v1/tokens", {"role": "admin", "name": "second admin"}, bootstrap)
    tokens = gateway.get_json("/v1/tokens", bootstrap)["tokens"]
    bootstrap_id = next(t["id"] for t in tokens if t["name"] == "bootstrap")
    gateway.request("DELETE", f"/v1/tokens/{bootstrap_id}", token=second["token"], expect=204)

    gateway.restart()  # an admin exists: the setting is not even read
    gateway.request("GET", "/v1/cases", token=bootstrap, expect=401)
    gateway.request("DELETE", f"/v1/tokens/{second['id']}", token=second["token"], expect=204)

    gateway.restart()  # no admin left, and the bootstrap secret was revoked: not brought back, no failure
    gateway.request("GET", "/v1/cases", token=bootstrap, expect=401)
    assert "was revoked or has expired" in gateway.log_path.read_text(encoding="utf-8", errors="replace")
    # The way back in is the command line, as the log says.
    admin = gateway.cli("tokens", "create", "--role", "admin", "--name", "recovered", "--data-dir", str(gateway.data_dir))
    recovered = next(word for word in admin.stdout.split() if word.startswith("tdk_"))
    gateway.request("GET", "/v1/cases", token=recovered, expect=200)


def test_a_malformed_bootstrap_token_beside_an_admin_does_not_stop_a_restart(gateway_factory: GatewayFactory):
    gateway = gateway_factory("bootstrap-malformed")
    admin = gateway.admin_token
    gateway.stop()
    gateway.admin_token = "not a token"
    gateway.start()
    gateway.request("GET", "/v1/cases", token=admin, expect=200)
    gateway.stop()
    # With no database yet, a malformed value is refused with the setting's name.
    fresh = Gateway(gateway.workdir / "fresh", name="bootstrap-fresh")
    fresh.admin_token = "not a token"
    assert "TAKEDOWN_BOOTSTRAP_ADMIN_TOKEN" in start_fails(fresh)


def test_instances_starting_together_on_postgres_create_one_bootstrap_admin(gateway_factory: GatewayFactory):
    with fresh_database("takedown_bootstrap") as url:
        gateways = [gateway_factory(f"together{n}", start=False, extra_env={"TAKEDOWN_DATABASE_URL": url}) for n in range(3)]
        shared = gateways[0].workdir / "shared-data"
        for gateway in gateways:
            gateway.data_dir = shared  # one signing key and one secret key, created by whoever comes first
            gateway.admin_token = gateways[0].admin_token
        errors: list[BaseException] = []

        def start(gateway: Gateway) -> None:
            try:
                gateway.start()
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=start, args=(g,)) for g in gateways]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            assert not errors, errors
            tokens = gateways[1].get_json("/v1/tokens", gateways[0].admin_token)["tokens"]
            assert [t["name"] for t in tokens] == ["bootstrap"], tokens
            assert (shared / "keys" / "secrets.key").is_file()
        finally:
            for gateway in gateways:
                gateway.stop()


def test_cli_tokens_take_an_expiry(gateway_factory: GatewayFactory):
    gateway = gateway_factory("cli-expiry")
    data = ["--data-dir", str(gateway.data_dir)]
    made = gateway.cli("tokens", "create", "--role", "analyst", "--name", "temp", "--expires-at", "2099-01-31T00:00:00Z", *data)
    token = next(word for word in made.stdout.split() if word.startswith("tdk_"))
    gateway.request("GET", "/v1/cases", token=token, expect=200)
    listed = {t["name"]: t for t in gateway.get_json("/v1/tokens", gateway.admin_token)["tokens"]}
    assert listed["temp"]["expires_at"] == "2099-01-31T00:00:00.000Z", listed["temp"]
    for bad in ("2020-01-01T00:00:00Z", "tomorrow"):
        refused = gateway.cli("tokens", "create", "--role", "analyst", "--name", "x", "--expires-at", bad, *data, check=False)
        assert refused.returncode != 0 and "--expires-at" in refused.stderr, refused.stderr


# --- key files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_files_readable_by_others_stop_the_start(gateway_factory: GatewayFactory, mode: int):
    gateway = gateway_factory(f"keys-{mode:o}")
    gateway.stop()
    keys = gateway.data_dir / "keys"
    # The signing keys live in the store (test_shared_keys.py); the folder holds the key that seals them.
    assert not list(keys.glob("*.key.json")), list(keys.iterdir())
    secret_key = keys / "secrets.key"
    assert stat.S_IMODE(secret_key.stat().st_mode) == 0o600, secret_key
    secret_key.chmod(mode)
    log = start_fails(gateway)
    assert str(secret_key) in log and f"chmod 600 {secret_key}" in log, log[-3000:]
    secret_key.chmod(0o600)
    gateway.start()
    gateway.request("GET", "/v1/cases", token=gateway.admin_token, expect=200)


# --- webhook secrets at rest -------------------------------------------------------------------------


def test_sqlite_file_holds_no_webhook_secret(gateway_factory: GatewayFactory):
    gateway = gateway_factory("sealed-sqlite")
    first = hooked_partner(gateway, "https://hooks.example.com/a")
    rotated = gateway.post_json(f"/v1/partners/{first['id']}/webhook-secret", {}, gateway.admin_token)
    secrets = [first["webhook_secret"], rotated["webhook_secret"]]
    assert_no_secret("SQLite, running", files_under(gateway.data_dir), secrets)
    gateway.stop()
    assert_no_secret("SQLite, stopped", files_under(gateway.data_dir), secrets)
    text = gateway.log_path.read_bytes()
    assert not [s for s in secrets if s.encode() in text], "the log holds a webhook secret"


def test_postgres_table_holds_no_webhook_secret(gateway_factory: GatewayFactory):
    with fresh_database("takedown_sealed") as url:
        gateway = gateway_factory("sealed-postgres", extra_env={"TAKEDOWN_DATABASE_URL": url})
        try:
            partner = hooked_partner(gateway, "https://hooks.example.com/a")
            dump = subprocess.run(["pg_dump", "--data-only", "--inserts", "--no-owner", url], capture_output=True, timeout=120)
            assert dump.returncode == 0, dump.stderr.decode(errors="replace")
            assert b"INSERT INTO public.webhook_secrets" in dump.stdout
            assert_no_secret("PostgreSQL", {"pg_dump": dump.stdout}, [partner["webhook_secret"]])
        finally:
            gateway.stop()


def test_plain_rows_of_an_older_gateway_are_sealed_and_still_sign(gateway_factory: GatewayFactory):
    with Receiver(name="upgrade") as receiver:
        gateway = gateway_factory("upgrade", extra_env=WEBHOOK_ENV)
        partner = hooked_partner(gateway, receiver.url("/hooks/upgrade"))
        secret = partner["webhook_secret"]
        receiver.trust({"current": secret})
        gateway.stop()
        # What a gateway before sealing left behind: the secret in the clear.
        database = gateway.data_dir / "takedown.sqlite"
        with sqlite3.connect(database) as db:
            db.execute("UPDATE webhook_secrets SET secret = ? WHERE partner_id = ?", (secret, partner["id"]))
        assert secret.encode() in b"".join(files_under(gateway.data_dir).values())

        gateway.start()
        assert_no_secret("SQLite, after the upgrade", files_under(gateway.data_dir), [secret])
        domain = partner["routing"]["domains"][0]
        gateway.submit_case(
            {"reference": f"UP-{tag()}", "category": {"uk_grade": "A"}, "media_type": "image", "items": [item(f"https://{domain}/1.jpg")]}
        )
        assert receiver.wait_for(lambda r: any(x.ok for x in r.snapshot()), timeout=20), receiver.snapshot()
        assert all(x.verified.get("current") for x in receiver.snapshot())


# --- suspension -------------------------------------------------------------------------------------


def test_a_suspended_partners_pushes_wait_and_go_out_after_reactivation(gateway_factory: GatewayFactory):
    with Receiver(name="suspended") as receiver:
        gateway = gateway_factory("suspended", extra_env=WEBHOOK_ENV)
        partner = hooked_partner(gateway, receiver.url("/hooks/held"))
        receiver.trust({"current": partner["webhook_secret"]})
        domain = partner["routing"]["domains"][0]
        admin = gateway.admin_token
        gateway.post_json(f"/v1/partners/{partner['id']}/suspend", {"reason": "contract lapsed"}, admin, expect=200)
        gateway.request("GET", "/v1/notices", token=partner["token"], expect=401)
        receipt = gateway.submit_case(
            {"reference": f"SU-{tag()}", "category": {"uk_grade": "A"}, "media_type": "image", "items": [item(f"https://{domain}/1.jpg")]}
        )
        notice = receipt["notices"][0]["id"]
        assert not receiver.wait_for(lambda r: bool(r.snapshot()), timeout=3), "a suspended partner got a push"
        gateway.request("GET", f"/v1/notices/{notice}", token=admin, expect=200)

        gateway.post_json(f"/v1/partners/{partner['id']}/reactivate", {}, admin, expect=200)
        assert receiver.wait_for(lambda r: notice in r.notice_ids(), timeout=20), receiver.snapshot()
        assert all(x.verified.get("current") for x in receiver.snapshot())
        gateway.request("GET", "/v1/notices", token=partner["token"], expect=200)


# --- the database URL in logs ---------------------------------------------------------------------------


def test_the_database_password_never_reaches_the_log(gateway_factory: GatewayFactory):
    """The test cluster trusts local connections, so a password in the URL is carried but not needed."""
    with fresh_database("takedown_redacted") as url:
        scheme, rest = url.split("://", 1)
        user, host = rest.split("@", 1)
        shapes = {
            "user info": f"{scheme}://{user}:pw-Userinfo-7f3a@{host}",
            "query": f"{scheme}ql://{user}@{host}?password=pw-Query-7f3a&sslmode=disable",
        }
        admin = None
        # Instances on one database share the key that seals its signing keys.
        sealing = {"TAKEDOWN_SECRETS_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
        for label, shaped in shapes.items():
            gateway = gateway_factory(
                f"redacted-{label.replace(' ', '-')}", start=False, extra_env={"TAKEDOWN_DATABASE_URL": shaped, **sealing})
            gateway.admin_token = admin = admin or gateway.admin_token  # one database: the first bootstraps
            gateway.start()
            gateway.request("GET", "/v1/cases", token=gateway.admin_token, expect=200)
            gateway.stop()
            log = gateway.log_path.read_text(encoding="utf-8", errors="replace")
            assert "7f3a" not in log, f"{label}: the password is in the log"
            assert "***" in log, f"{label}: the start-up line does not show the masked URL"
        # Refused at start: the message masks it too.
        refused = gateway_factory(
            "refused-sslmode", start=False,
            extra_env={"TAKEDOWN_DATABASE_URL": f"{scheme}://{user}:pw-Refused-7f3a@{host}?sslmode=prefer"},
        )
        log = start_fails(refused)
        assert "7f3a" not in log and "***" in log and "sslmode=prefer is not supported" in log, log[-2000:]
        # A password a strict URL parser refuses (a bad escape, a space, an `@`), started or refused alike.
        odd = gateway_factory(
            "odd-password", start=False,
            extra_env={"TAKEDOWN_DATABASE_URL": f"{scheme}://{user}:pw@Bad%zz 7f3a@{host}", **sealing},
        )
        odd.admin_token = admin
        try:
            odd.start()
            odd.stop()
        except GatewayError:
            pass
        log = odd.log_path.read_text(encoding="utf-8", errors="replace")
        assert "7f3a" not in log and "***" in log, log[-2000:]
