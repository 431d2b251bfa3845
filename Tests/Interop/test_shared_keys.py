"""Signing keys live in the store, sealed with the secrets key: instances that share only the database
sign with the same key, a rotation made anywhere takes effect on every instance without a restart, and
notices signed before it still verify. An older gateway's key folder moves into the store.

Verification here is joserfc's and pyca/cryptography's, against each instance's published JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sqlite3
import time
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from joserfc import jws
from joserfc.jwk import KeySet

from conftest import Gateway, GatewayError, b64url_encode, fresh_database, item, jws_parts, tag

pytestmark = pytest.mark.filterwarnings("ignore:.*EdDSA")

# Swift's JSONEncoder writes dates as seconds since 2001-01-01 unless told otherwise: the key files of
# earlier versions hold them so.
REFERENCE_DATE = datetime(2001, 1, 1, tzinfo=timezone.utc).timestamp()


def verify(compact: str, jwks: dict) -> str:
    """The kid of a notice JWS that joserfc verifies against `jwks`."""
    jws.deserialize_compact(compact, KeySet.import_key_set(jwks), algorithms=["EdDSA"])
    return jws_parts(compact)[0]["kid"]


def issue(gateway: Gateway, partner: dict, admin: str) -> str:
    case = gateway.submit_case(
        {
            "reference": f"KEYS-{tag()}",
            "category": {"uk_grade": "A", "classification": "A2"},
            "media_type": "image",
            "items": [item(f"https://{partner['domain']}/{tag()}.jpg")],
        },
        admin,
    )
    assert len(case["notices"]) == 1, case
    return case["notices"][0]["id"]


def wait_for(condition, what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_two_instances_on_one_postgres_share_keys_and_a_rotation(tmp_path):
    with fresh_database("takedown_keys") as url:
        shared = {
            "TAKEDOWN_DATABASE_URL": url,
            "TAKEDOWN_SECRETS_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "TAKEDOWN_KEY_REFRESH_SECONDS": "1",
        }
        # No shared disk: each instance has a data folder of its own.
        a = Gateway(tmp_path / "a", name="a", extra_env=shared)
        b = Gateway(tmp_path / "b", name="b", extra_env=shared)
        outsider = Gateway(
            tmp_path / "c", name="c",
            extra_env={**shared, "TAKEDOWN_SECRETS_KEY": base64.b64encode(secrets.token_bytes(32)).decode()})
        try:
            a.start()
            b.admin_token = a.admin_token  # the store has its admin already
            b.start()
            admin = a.admin_token
            domain = f"keys-{tag()}.example.com"
            partner = a.create_partner(name="Keys host", locale="en", jurisdiction="GB", domains=[domain])
            partner["domain"] = domain
            assert not (a.data_dir / "keys").exists() or not list((a.data_dir / "keys").glob("*.key.json"))

            first = issue(a, partner, admin)
            jwks_a, jwks_b = a.jwks(), b.jwks()
            assert jwks_a == jwks_b and len(jwks_a["keys"]) == 1, (jwks_a, jwks_b)
            old_kid = jwks_a["keys"][0]["kid"]
            assert verify(a.notice_jws(first, partner["token"]), jwks_b) == old_kid
            second = issue(b, partner, admin)
            assert verify(b.notice_jws(second, partner["token"]), jwks_a) == old_kid

            # A rotation from a third process, with both instances running.
            rotated = a.cli("keys", "rotate").stdout
            new_kid = rotated.split()[-1]
            assert rotated.startswith("active ") and new_kid != old_kid, rotated
            started = time.monotonic()
            for gateway in (a, b):
                wait_for(lambda g=gateway: {k["kid"] for k in g.jwks()["keys"]} == {old_kid, new_kid},
                         f"{gateway.name} publishes the new key", seconds=5)
                wait_for(lambda g=gateway: verify(g.notice_jws(issue(g, partner, admin), partner["token"]), g.jwks()) == new_kid,
                         f"{gateway.name} signs with the new key", seconds=5)
            assert time.monotonic() - started < 10
            # Notices signed before the rotation still verify, on either instance's JWKS.
            for gateway in (a, b):
                for notice in (first, second):
                    assert verify(gateway.notice_jws(notice, partner["token"]), gateway.jwks()) == old_kid
            listing = a.cli("keys", "list").stdout
            assert f"{old_kid}  retired" in listing and f"{new_kid}  active" in listing, listing

            # An instance with another secrets key cannot open the keys, and says so instead of making its own.
            outsider.admin_token = admin
            with pytest.raises(GatewayError) as refused:
                outsider.start()
            assert "every instance must use the same TAKEDOWN_SECRETS_KEY" in str(refused.value), str(refused.value)[-2000:]
            doctor = outsider.cli("doctor", check=False)
            assert doctor.returncode == 1 and "every instance must use the same TAKEDOWN_SECRETS_KEY" in doctor.stdout, doctor.stdout
            assert {k["kid"] for k in a.jwks()["keys"]} == {old_kid, new_kid}
        finally:
            for gateway in (a, b, outsider):
                gateway.stop()


def legacy_key_file(folder, created: float, retired: float | None) -> tuple[str, Ed25519PrivateKey]:
    """A key file as gateways before keys moved into the store wrote them."""
    key = Ed25519PrivateKey.generate()
    x = b64url_encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = b64url_encode(hashlib.sha256(canonical.encode()).digest())
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    stored = {"kid": kid, "createdAt": created - REFERENCE_DATE, "privateKey": b64url_encode(raw)}
    if retired is not None:
        stored["retiredAt"] = retired - REFERENCE_DATE
    path = folder / f"{kid}.key.json"
    path.write_text(json.dumps(stored), encoding="utf-8")
    path.chmod(0o600)
    return kid, key


def test_an_older_key_folder_moves_into_the_store_and_keeps_signing(gateway_factory):
    gateway = gateway_factory("legacy", start=False)
    folder = gateway.data_dir / "keys"
    folder.mkdir(parents=True, mode=0o700)
    now = time.time()
    old_kid, _ = legacy_key_file(folder, now - 86_400 * 400, now - 86_400 * 30)
    active_kid, active_key = legacy_key_file(folder, now - 86_400 * 30, None)

    imported = gateway.cli("keys", "import", "--data-dir", str(gateway.data_dir)).stdout
    assert f"imported {old_kid}" in imported and f"imported {active_kid}" in imported, imported
    again = gateway.cli("keys", "import", "--data-dir", str(gateway.data_dir)).stdout
    assert f"present  {old_kid}" in again and f"present  {active_kid}" in again, again

    # Sealed in the database: the private key's bytes are nowhere in it.
    raw = b64url_encode(active_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    with sqlite3.connect(gateway.data_dir / "takedown.sqlite") as db:
        stored = dict(db.execute("SELECT kid, private_key FROM signing_keys"))
    assert set(stored) == {old_kid, active_kid}
    assert all(value.startswith("aesgcm1:") and raw not in value for value in stored.values()), stored
    assert raw.encode() not in (gateway.data_dir / "takedown.sqlite").read_bytes()

    gateway.start()
    assert [k["kid"] for k in gateway.jwks()["keys"]] == [old_kid, active_kid]
    domain = f"legacy-{tag()}.example.com"
    partner = gateway.create_partner(name="Legacy host", locale="en", jurisdiction="GB", domains=[domain])
    partner["domain"] = domain
    notice = issue(gateway, partner, gateway.admin_token)
    assert verify(gateway.notice_jws(notice, partner["token"]), gateway.jwks()) == active_kid


def test_a_start_takes_in_the_key_folder_by_itself(gateway_factory):
    gateway = gateway_factory("legacy-start", start=False)
    folder = gateway.data_dir / "keys"
    folder.mkdir(parents=True, mode=0o700)
    kid, _ = legacy_key_file(folder, time.time() - 3600, None)
    gateway.start()
    assert [k["kid"] for k in gateway.jwks()["keys"]] == [kid]
    assert f"{kid}  active" in gateway.cli("keys", "list", "--data-dir", str(gateway.data_dir)).stdout


def test_retired_keys_leave_the_jwks_after_the_publication_time(gateway_factory):
    gateway = gateway_factory("publication", start=False, extra_env={"TAKEDOWN_RETIRED_KEY_PUBLISH_DAYS": "30"})
    folder = gateway.data_dir / "keys"
    folder.mkdir(parents=True, mode=0o700)
    now = time.time()
    gone, _ = legacy_key_file(folder, now - 86_400 * 400, now - 86_400 * 31)
    kept, _ = legacy_key_file(folder, now - 86_400 * 31, now - 86_400 * 29)
    active, _ = legacy_key_file(folder, now - 86_400 * 29, None)
    gateway.start()
    assert [k["kid"] for k in gateway.jwks()["keys"]] == [kept, active]
    assert gone in gateway.cli("keys", "list", "--data-dir", str(gateway.data_dir)).stdout
