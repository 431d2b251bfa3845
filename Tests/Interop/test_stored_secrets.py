"""API tokens are stored only as hashes: no token secret is in the database, on either store.

Tokens of every kind are made (the bootstrap admin, a partner's first token and a further one, staff
tokens over the API and with `takedown tokens create`) and each is used once. Then the bytes the
gateway keeps are searched for each secret, in the forms it could be stored in (the `tdk_` text, its
random part alone, the 32 random bytes raw or in hex):
- SQLite: every file under the data directory (the database with its write-ahead log while the server
  runs, and again after a clean stop);
- PostgreSQL: a `pg_dump` of the gateway's database.
So that the test cannot pass by reading the wrong bytes, the SHA-256 of every secret, which is what the
gateway stores, must be found in the same bytes. The server's log must not hold a secret either.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
from pathlib import Path

from conftest import Gateway, GatewayFactory, fresh_database, tag


def make_tokens(gateway: Gateway) -> dict[str, str]:
    """label -> secret, every kind of token, each used once."""
    tokens = {"bootstrap admin": gateway.admin_token}
    partner = gateway.create_partner(
        name=f"Secret Hosting {tag()}", locale="en", jurisdiction="GB", domains=[f"secret-{tag()}.test"]
    )
    tokens["partner first"] = partner["token"]
    tokens["partner second"] = gateway.post_json(
        f"/v1/partners/{partner['id']}/tokens", {"name": "second"}, gateway.admin_token
    )["token"]
    for role in ("admin", "analyst"):
        tokens[f"api {role}"] = gateway.post_json("/v1/tokens", {"role": role, "name": f"api-{role}"}, gateway.admin_token)[
            "token"
        ]
    tokens["cli analyst"] = gateway.create_analyst_token("cli-analyst")
    for label, secret in tokens.items():
        assert secret.startswith("tdk_"), (label, secret)
        path = f"/v1/partners/{partner['id']}" if label.startswith("partner") else "/v1/cases"
        gateway.request("GET", path, token=secret)  # 200, or GatewayError
    return tokens


def forms(secret: str) -> dict[str, bytes]:
    """The ways a secret could sit in a file."""
    random_part = secret.removeprefix("tdk_")
    raw = base64.urlsafe_b64decode(random_part + "=" * (-len(random_part) % 4))
    assert len(raw) == 32, "a token carries 256 random bits"
    return {
        "token": secret.encode(),
        "random part": random_part.encode(),
        "raw bytes": raw,
        "raw bytes in hex": raw.hex().encode(),
        "token in UTF-16": secret.encode("utf-16-le"),
    }


def stored_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).hexdigest().encode()


def files_under(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def assert_only_hashes(where: str, contents: dict[str, bytes], tokens: dict[str, str]) -> None:
    found = [
        f"{label} ({form}) in {name}"
        for label, secret in tokens.items()
        for form, needle in forms(secret).items()
        for name, data in contents.items()
        if needle in data
    ]
    assert not found, f"{where}: token secrets stored: {found}"
    everything = b"".join(contents.values())
    missing = [label for label, secret in tokens.items() if stored_hash(secret) not in everything]
    assert not missing, f"{where}: the stored hash of {missing} is not in {sorted(contents)}: wrong bytes searched?"


def assert_log_clean(gateway: Gateway, tokens: dict[str, str]) -> None:
    # `takedown tokens create` prints its token, and the test harness notes CLI output in the same log
    log = gateway.log_path.read_bytes()
    leaked = [label for label, secret in tokens.items() if not label.startswith("cli") and secret.encode() in log]
    assert not leaked, f"the server log holds token secrets: {leaked}"


def test_sqlite_stores_token_hashes_only(gateway_factory: GatewayFactory):
    gateway = gateway_factory("secrets-sqlite")
    tokens = make_tokens(gateway)
    running = files_under(gateway.data_dir)
    assert "takedown.sqlite" in running, sorted(running)
    assert_only_hashes("SQLite, server running", running, tokens)
    gateway.stop()
    assert_only_hashes("SQLite, after a clean stop", files_under(gateway.data_dir), tokens)
    assert_log_clean(gateway, tokens)


def test_postgres_stores_token_hashes_only(gateway_factory: GatewayFactory):
    with fresh_database("takedown_secrets") as url:
        gateway = gateway_factory("secrets-postgres", extra_env={"TAKEDOWN_DATABASE_URL": url})
        try:
            tokens = make_tokens(gateway)
            dump = subprocess.run(
                ["pg_dump", "--data-only", "--inserts", "--no-owner", url], capture_output=True, timeout=120
            )
            assert dump.returncode == 0, dump.stderr.decode(errors="replace")
            assert b"INSERT INTO public.tokens" in dump.stdout, "the dump holds no tokens table rows"
            assert_only_hashes("PostgreSQL", {"pg_dump": dump.stdout, **files_under(gateway.data_dir)}, tokens)
        finally:
            gateway.stop()
        assert_log_clean(gateway, tokens)
