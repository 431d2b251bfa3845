"""The gateway as installed: the binary carries its templates, schemas and console, so it serves from an
empty folder; a templates folder still overrides them; `scripts/install` stages the Debian layout; and
`takedown doctor` names each broken setting in one line (and changes nothing).

Every other interop test also starts the binary in a folder of its own, never the repository's."""

from __future__ import annotations

import base64

import json
import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from conftest import REPO, SCHEMAS_DIR, TEMPLATES_DIR, TEST_DATABASE_URL, Gateway, GatewayError, free_port, fresh_database, item, tag

HEADINGS = {"en": "TAKEDOWN NOTICE", "de": "MELDUNG ZUR ENTFERNUNG", "fr": "NOTIFICATION DE RETRAIT"}
JURISDICTIONS = {"en": "GB", "de": "DE", "fr": "FR"}


def notice_text(gateway: Gateway, locale: str) -> tuple[str, str]:
    """Issues a notice to a new partner speaking `locale`; returns its id and its text as the partner reads it."""
    domain = f"{locale}-{tag()}.test"
    partner = gateway.create_partner(name=f"Host {tag()}", locale=locale, jurisdiction=JURISDICTIONS[locale], domains=[domain])
    case = {"reference": f"INSTALL-{tag()}", "category": {"uk_grade": "B"}, "media_type": "image",
            "items": [item(f"https://{domain}/{tag()}.jpg", full=False)]}
    [notice] = gateway.submit_case(case)["notices"]
    response = gateway.request("GET", f"/v1/notices/{notice['id']}", token=partner["token"], accept="text/plain", expect=200)
    return notice["id"], response.text


def test_the_binary_serves_its_description_and_notices_in_three_languages_from_an_empty_folder(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    gateway = Gateway(tmp_path / "gateway", name="anywhere")
    gateway.cwd = empty
    environment = gateway.environment()
    assert "TAKEDOWN_TEMPLATES_DIR" not in environment and "TAKEDOWN_SCHEMAS_DIR" not in environment
    gateway.start()
    try:
        served = gateway.request("GET", "/openapi.json", expect=200)
        assert served.headers["content-type"].startswith("application/json")
        assert served.json() == json.loads((SCHEMAS_DIR / "openapi.json").read_text(encoding="utf-8"))
        for locale, heading in HEADINGS.items():
            notice_id, text = notice_text(gateway, locale)
            assert text.startswith(f"{heading} {notice_id}\n"), (locale, text[:200])
        # The console too: its pages and its own stylesheet and script come from the binary.
        sign_in = gateway.request("GET", "/console/sign-in", expect=200)
        assert sign_in.headers["content-type"].startswith("text/html") and 'name="token"' in sign_in.text, sign_in.text[:300]
        for asset, kind in (("console.css", "text/css"), ("console.js", "javascript")):
            served_asset = gateway.request("GET", f"/console/static/{asset}", expect=200)
            assert kind in served_asset.headers["content-type"] and served_asset.content, asset
            built_in = (TEMPLATES_DIR / "console" / asset).read_bytes()
            assert served_asset.content == built_in, asset
        assert list(empty.iterdir()) == [], "the gateway wrote into the folder it was started in"
    finally:
        gateway.stop()


def test_a_templates_folder_overrides_the_built_in_texts_and_a_broken_one_stops_start_up(tmp_path: Path):
    edited = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, edited)
    english = edited / "notice.en.mustache"
    english.write_text(english.read_text(encoding="utf-8").replace("TAKEDOWN NOTICE", "NOTICE OF TAKEDOWN (reviewed)"), encoding="utf-8")
    gateway = Gateway(tmp_path / "edited", name="edited", extra_env={"TAKEDOWN_TEMPLATES_DIR": str(edited)})
    gateway.start()
    try:
        notice_id, text = notice_text(gateway, "en")
        assert text.startswith(f"NOTICE OF TAKEDOWN (reviewed) {notice_id}\n"), text[:200]
        _, german = notice_text(gateway, "de")
        assert german.startswith(HEADINGS["de"]), german[:200]
    finally:
        gateway.stop()

    english.unlink()
    broken = Gateway(tmp_path / "broken", name="broken", extra_env={"TAKEDOWN_TEMPLATES_DIR": str(edited)})
    with pytest.raises(GatewayError) as failure:
        broken.start()
    assert "notice.en.mustache is missing" in str(failure.value)


def test_scripts_install_stages_the_debian_layout(tmp_path: Path):
    root = tmp_path / "root"
    built = Gateway(tmp_path / "x").binary
    result = subprocess.run([str(REPO / "scripts" / "install"), "--destdir", str(root), "--binary", str(built)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    binary = root / "usr/local/bin/takedown"
    assert binary.stat().st_mode & 0o777 == 0o755
    assert stat.S_IMODE((root / "var/lib/takedown").stat().st_mode) == 0o700
    unit = (root / "etc/systemd/system/takedown.service").read_text(encoding="utf-8")
    assert "ExecStart=/usr/local/bin/takedown serve" in unit and "EnvironmentFile=/etc/takedown/takedown.env" in unit
    settings = dict(line.split("=", 1) for line in (root / "etc/takedown/takedown.env").read_text(encoding="utf-8").splitlines()
                    if line and not line.startswith("#"))
    assert settings["TAKEDOWN_DATA_DIR"] == "/var/lib/takedown"
    # The example settings are ones the binary accepts: doctor finds only what a staged tree lacks (no keys,
    # no database yet) and nothing wrong with the settings themselves.
    data = tmp_path / "data"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TAKEDOWN_")}, **settings, "TAKEDOWN_DATA_DIR": str(data)}
    doctor = subprocess.run([str(binary), "doctor"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert doctor.returncode == 1, doctor.stdout
    assert problems(doctor.stdout) == {"keys", "store"}, doctor.stdout
    assert not data.exists(), "doctor created the data folder"
    # Installing again keeps the administrator's settings.
    (root / "etc/takedown/takedown.env").write_text("TAKEDOWN_PORT=9000\n", encoding="utf-8")
    again = subprocess.run([str(REPO / "scripts" / "install"), "--destdir", str(root), "--binary", str(built)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert (root / "etc/takedown/takedown.env").read_text(encoding="utf-8") == "TAKEDOWN_PORT=9000\n"
    assert (root / "etc/takedown/takedown.env.example").is_file()


def problems(output: str) -> set[str]:
    """The checks `takedown doctor` printed a PROBLEM line for."""
    found = set()
    for line in output.splitlines():
        assert line.startswith(("ok ", "PROBLEM ")), f"not a doctor line: {line!r}"
        if line.startswith("PROBLEM"):
            found.add(line.split(None, 1)[1].split(":", 1)[0])
    return found


class Sink:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        return "250 OK"


@pytest.fixture
def healthy(tmp_path: Path):
    """A deployment that has run once (keys and a migrated SQLite store), with a mail relay on loopback and a
    public https URL: `takedown doctor` passes on it."""
    port = free_port()
    relay = Controller(Sink(), hostname="127.0.0.1", port=port)
    relay.start()
    gateway = Gateway(tmp_path / "healthy", name="healthy", extra_env={
        "TAKEDOWN_PUBLIC_URL": "https://takedown.hotline.test",
        "TAKEDOWN_SMTP_URL": f"smtp://127.0.0.1:{port}", "TAKEDOWN_SMTP_FROM": "notices@hotline.test",
        "TAKEDOWN_SMTP_ALLOW_PRIVATE_RELAY": "1",
    })
    gateway.start()
    gateway.stop()
    try:
        yield gateway
    finally:
        relay.stop()


def doctor(gateway: Gateway, **changes: str | None) -> tuple[int, str]:
    saved = dict(gateway.extra_env)
    for name, value in changes.items():
        if value is None:
            gateway.extra_env.pop(name, None)
        else:
            gateway.extra_env[name] = value
    try:
        result = gateway.cli("doctor", "--data-dir", str(gateway.data_dir), check=False)
    finally:
        gateway.extra_env = saved
    return result.returncode, result.stdout


def test_doctor_passes_a_healthy_deployment_and_names_each_broken_setting(healthy: Gateway, tmp_path: Path):
    status, output = doctor(healthy)
    assert status == 0 and problems(output) == set(), output
    assert {line.split(":", 1)[0].split(None, 1)[1] for line in output.splitlines()} == {"public URL", "templates", "keys", "store", "email"}
    assert "takes mail" in output, output

    cases = {
        "public URL": [{"TAKEDOWN_PUBLIC_URL": None}, {"TAKEDOWN_PUBLIC_URL": "http://takedown.hotline.test"}],
        "settings": [{"TAKEDOWN_ISSUER_COUNTRY": "XYZ"}],
        "templates": [{"TAKEDOWN_TEMPLATES_DIR": str(tmp_path / "no-such-folder")}],
        "email": [{"TAKEDOWN_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}],
    }
    for check, variants in cases.items():
        for change in variants:
            status, output = doctor(healthy, **change)
            assert status == 1 and problems(output) == {check}, (change, output)
            assert len([line for line in output.splitlines() if line.startswith("PROBLEM")]) == 1, output

    # Settings the process cannot even read: one line, exit 1.
    status, output = doctor(healthy, TAKEDOWN_PORT="99999")
    assert status == 1 and output.startswith("PROBLEM  settings: ") and len(output.splitlines()) == 1, output

    keys = healthy.data_dir / "keys"
    # The signing keys are in the store; the folder holds the secrets key that seals them.
    assert [path.name for path in keys.iterdir() if not path.name.startswith(".")] == ["secrets.key"]
    key_file = keys / "secrets.key"
    key_file.chmod(0o644)
    status, output = doctor(healthy)
    assert status == 1 and problems(output) == {"keys"} and f"chmod 600 {key_file}" in output, output
    key_file.chmod(0o600)
    keys.chmod(0o755)
    status, output = doctor(healthy)
    assert status == 1 and problems(output) == {"keys"} and "chmod 700" in output, output
    keys.chmod(0o700)
    (keys / "secrets.key").rename(tmp_path / "secrets.key")
    status, output = doctor(healthy)
    assert status == 1 and problems(output) == {"keys"} and "secrets.key is missing" in output, output
    (tmp_path / "secrets.key").rename(keys / "secrets.key")
    # Another instance's secrets key, given in the environment, does not open the stored signing keys.
    other = base64.b64encode(os.urandom(32)).decode()
    status, output = doctor(healthy, TAKEDOWN_SECRETS_KEY=other)
    assert status == 1 and problems(output) == {"keys"} and "do not open with the secrets key" in output, output
    status, output = doctor(healthy, TAKEDOWN_SECRETS_KEY="not a key")
    assert status == 1 and problems(output) == {"keys"} and "TAKEDOWN_SECRETS_KEY" in output, output
    # The folder's key given as a file of its own is the same key: all is well.
    status, output = doctor(healthy, TAKEDOWN_SECRETS_KEY_FILE=str(key_file))
    assert status == 0, output

    database = healthy.data_dir / "takedown.sqlite"
    database.rename(tmp_path / "takedown.sqlite")
    status, output = doctor(healthy)
    assert status == 1 and problems(output) == {"store"} and "takedown migrate" in output, output
    assert not database.exists(), "doctor created the database"
    (tmp_path / "takedown.sqlite").rename(database)

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        status, output = doctor(healthy, TAKEDOWN_DATABASE_URL=f"postgres://takedown@127.0.0.1:{held.getsockname()[1]}/takedown")
    assert status == 1 and problems(output) == {"store"}, output
    # A server that takes the connection and never answers (a firewall's black hole): the check gives up
    # after its time limit instead of hanging.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        status, output = doctor(healthy, TAKEDOWN_DATABASE_URL=f"postgres://takedown@127.0.0.1:{silent.getsockname()[1]}/takedown")
        waited = time.monotonic() - started
    assert status == 1 and problems(output) == {"store"}, output
    assert waited < 30, waited

    status, output = doctor(healthy)
    assert status == 0, output


def test_doctor_on_postgresql_sees_a_database_that_was_never_migrated(healthy: Gateway):
    if not TEST_DATABASE_URL:
        pytest.skip("TAKEDOWN_TEST_DATABASE_URL is not set")
    with fresh_database("takedown_doctor") as url:
        status, output = doctor(healthy, TAKEDOWN_DATABASE_URL=url)
        assert status == 1 and problems(output) == {"store"} and "run `takedown migrate`" in output, output
        healthy.cli("migrate", "--database-url", url)
        # The signing keys live in the store: a database no gateway has started on has none yet.
        status, output = doctor(healthy, TAKEDOWN_DATABASE_URL=url)
        assert status == 1 and problems(output) == {"keys"} and "`takedown keys create`" in output, output
        healthy.cli("keys", "create", "--database-url", url)
        status, output = doctor(healthy, TAKEDOWN_DATABASE_URL=url)
        assert status == 0, output
        assert "schema up to date" in output
