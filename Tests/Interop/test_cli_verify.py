"""`takedown verify` checks a notice offline against a JWKS file or URL (exit 0 valid, 1 invalid)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc.jwk import OKPKey

from conftest import World, jws_parts, tag, tamper_payload


@pytest.fixture
def saved(world: World, tmp_path: Path):
    """A German notice's JSON view, its compact JWS and the JWKS, saved as a provider would keep them."""
    notice = world.notice_for("de")
    view = world.gateway.request("GET", f"/v1/notices/{notice.id}", token=notice.partner.token).text
    compact = world.gateway.notice_jws(notice.id, notice.partner.token)
    jwks = world.gateway.request("GET", "/.well-known/jwks.json").text
    paths = {
        "view": tmp_path / "notice.json",
        "jws": tmp_path / "notice.jws",
        "jwks": tmp_path / "jwks.json",
    }
    paths["view"].write_text(view, encoding="utf-8")
    paths["jws"].write_text(compact, encoding="utf-8")
    paths["jwks"].write_text(jwks, encoding="utf-8")
    return world, notice, compact, paths


def verify(world: World, notice_file, jwks, stdin: str | None = None):
    return world.gateway.cli("verify", str(notice_file), "--jwks", str(jwks), check=False, stdin=stdin)


def assert_valid_output(result, notice_id: str) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    first_line = result.stdout.strip().splitlines()[0].lower()
    assert "valid" in first_line and "invalid" not in first_line, result.stdout


def assert_invalid(result) -> None:
    assert result.returncode == 1, f"expected exit 1, got {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "valid signature" not in result.stdout.lower()


def test_verify_notice_json_with_jwks_file(saved):
    world, notice, _, paths = saved
    result = verify(world, paths["view"], paths["jwks"])
    assert_valid_output(result, notice.id)
    assert notice.id in result.stdout  # it shows what it verified


def test_verify_compact_jws_file_and_stdin(saved):
    world, notice, compact, paths = saved
    assert_valid_output(verify(world, paths["jws"], paths["jwks"]), notice.id)
    assert_valid_output(verify(world, "-", paths["jwks"], stdin=compact), notice.id)


def test_verify_with_jwks_url(saved):
    world, notice, _, paths = saved
    url = f"{world.gateway.url}/.well-known/jwks.json"
    assert_valid_output(verify(world, paths["view"], url), notice.id)


def test_verify_rejects_tampered_notice(saved, tmp_path: Path):
    world, notice, compact, paths = saved
    view = json.loads(paths["view"].read_text(encoding="utf-8"))
    view["jws"] = tamper_payload(compact, case_reference="FORGED-" + tag())
    forged_view = tmp_path / "forged-notice.json"
    forged_view.write_text(json.dumps(view), encoding="utf-8")
    assert_invalid(verify(world, forged_view, paths["jwks"]))

    forged_jws = tmp_path / "forged.jws"
    forged_jws.write_text(tamper_payload(compact, aud="ptn_" + tag()), encoding="utf-8")
    assert_invalid(verify(world, forged_jws, paths["jwks"]))


def test_verify_rejects_a_key_that_did_not_sign(saved, tmp_path: Path):
    world, _, compact, paths = saved
    impostor = OKPKey.generate_key("Ed25519").as_dict(private=False)
    impostor.update(kid=jws_parts(compact)[0]["kid"], alg="EdDSA", use="sig")
    other_jwks = tmp_path / "other-jwks.json"
    other_jwks.write_text(json.dumps({"keys": [impostor]}), encoding="utf-8")
    assert_invalid(verify(world, paths["jws"], other_jwks))
