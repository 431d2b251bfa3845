"""Notices against Schemas/notice.schema.json, XARF reports against the official XARF v4 schema.

Both are checked with jsonschema's Draft 2020-12 validator and its format checker; `$ref`s resolve
through a `referencing` registry that holds only local files, so nothing is fetched from the network.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator

from conftest import (
    FORMAT_CHECKER,
    SCHEMAS_DIR,
    XARF_DIR,
    XARF_FILES,
    World,
    assert_valid,
    errors_of,
    jws_parts,
    load_registry,
    make_validator,
)

NOTICE_SCHEMA = SCHEMAS_DIR / "notice.schema.json"


def host(url: str) -> str:
    return urlsplit(url).hostname or ""


# --- notice schema ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def notice_validator() -> Draft202012Validator:
    assert NOTICE_SCHEMA.is_file(), f"{NOTICE_SCHEMA} is missing: the design requires a JSON Schema for notices"
    registry = load_registry(sorted(SCHEMAS_DIR.glob("*.json")))
    return make_validator(NOTICE_SCHEMA, registry)


def test_notice_schema_is_draft_2020_12(notice_validator: Draft202012Validator):
    schema = notice_validator.schema
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_notice_matches_the_notice_schema(world: World, notice_validator: Draft202012Validator):
    gateway = world.gateway
    expected_ids = {n.id for n in world.notices}

    # staff see every notice, page by page
    listed = gateway.all_notices(gateway.admin_token, limit=2)
    assert {n["id"] for n in listed} == expected_ids
    assert len(listed) == len(expected_ids), "a notice was listed twice across pages"

    # each provider sees exactly its own
    for partner in world.partners.values():
        own = gateway.all_notices(partner.token, limit=1)
        assert {n["id"] for n in own} == {n.id for n in world.notices if n.partner.id == partner.id}
        for view in own:
            assert view["document"]["recipient"]["partner_id"] == partner.id

    for notice in world.notices:
        view = gateway.get_json(f"/v1/notices/{notice.id}", notice.partner.token)
        document = view["document"]
        assert_valid(notice_validator, document, f"notice {notice.id} document")
        _, payload, _ = jws_parts(view["jws"])
        assert_valid(notice_validator, payload, f"notice {notice.id} JWS payload")
        compact = gateway.notice_jws(notice.id, notice.partner.token)
        assert_valid(notice_validator, jws_parts(compact)[1], f"notice {notice.id} application/jose payload")

        # the schema-valid document also says the right things
        assert document["id"] == notice.id
        assert document["case_reference"] == notice.case["reference"]
        assert document["recipient"]["partner_id"] == notice.partner.id
        assert document["media_type"] == notice.case["media_type"]
        assert [i["url"] for i in document["items"]] == [i["url"] for i in notice.items]
        for sent, carried in zip(notice.items, document["items"]):
            assert carried.get("ip") == sent.get("ip"), carried
            for name, value in sent["hashes"].items():
                assert carried["hashes"].get(name) == value, (name, carried["hashes"])
        if notice.partner.locale in {"de", "fr", "en"}:
            assert document["language"] == notice.partner.locale
        else:  # no templates for this locale: the notice is in English
            assert document["language"] == "en", document["language"]


def test_notice_schema_rejects_broken_documents(world: World, notice_validator: Draft202012Validator):
    notice = world.notice_for("de")
    document = world.gateway.get_json(f"/v1/notices/{notice.id}", notice.partner.token)["document"]
    assert_valid(notice_validator, document, "control document")

    without_id = copy.deepcopy(document)
    del without_id["id"]
    assert errors_of(notice_validator, without_id), "a notice without id validated"

    wrong_items = copy.deepcopy(document)
    wrong_items["items"] = "https://cdn.hoster-de.test/a.jpg"
    assert errors_of(notice_validator, wrong_items), "a notice whose items are a string validated"

    bad_time = copy.deepcopy(document)
    bad_time["issued_at"] = "yesterday"
    assert errors_of(notice_validator, bad_time), "a notice with issued_at 'yesterday' validated"


# --- XARF v4 ----------------------------------------------------------------------------------------

XARF_HASHES = ("md5", "sha1", "sha256", "photodna")


@pytest.fixture(scope="session")
def xarf_validator() -> Draft202012Validator:
    return make_validator(XARF_DIR / "xarf-v4-master.json", load_registry(XARF_FILES))


def test_vendored_xarf_schema_is_complete():
    assert (XARF_DIR / "LICENSE").is_file() and (XARF_DIR / "SOURCE").is_file()
    assert "MIT" in (XARF_DIR / "LICENSE").read_text()
    ids = set()
    for path in XARF_FILES:
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].startswith("https://xarf.org/schemas/v4/"), path
        ids.add(schema["$id"])
    assert "https://xarf.org/schemas/v4/types/content-csam.json" in ids
    assert len(ids) == len(XARF_FILES)


def test_xarf_validator_accepts_official_sample_and_rejects_broken_reports(xarf_validator: Draft202012Validator):
    """Proves the validator really resolves the type schemas and checks formats."""
    sample = json.loads((XARF_DIR / "sample-content-csam.json").read_text(encoding="utf-8"))
    assert_valid(xarf_validator, sample, "the official XARF csam sample")

    broken = copy.deepcopy(sample)
    broken["classification"] = "Z9"  # only content-csam.json knows the enum: $refs must resolve
    assert any("Z9" in e for e in errors_of(xarf_validator, broken)), "classification Z9 validated"

    broken = copy.deepcopy(sample)
    broken["report_id"] = "not-a-uuid"  # only a format checker catches this
    assert errors_of(xarf_validator, broken), "report_id 'not-a-uuid' validated: formats are not checked"

    broken = copy.deepcopy(sample)
    broken["timestamp"] = "2026-13-45 nonsense"
    assert errors_of(xarf_validator, broken), "a nonsense timestamp validated: formats are not checked"


def test_xarf_reports_validate_and_match_the_case(world: World, xarf_validator: Draft202012Validator):
    gateway = world.gateway
    report_ids: set[str] = set()
    seen_without_ip = seen_with_ip = False
    for notice in world.notices:
        response = gateway.request("GET", f"/v1/notices/{notice.id}/xarf", token=notice.partner.token)
        assert response.headers["content-type"].split(";")[0].strip() == "application/json"
        reports = response.json()["reports"]
        assert len(reports) == len(notice.items), "one XARF report per item"
        assert sorted(r["url"] for r in reports) == sorted(i["url"] for i in notice.items)
        staff_view = gateway.get_json(f"/v1/notices/{notice.id}/xarf", gateway.admin_token)["reports"]
        assert len(staff_view) == len(reports)

        classification = notice.case["category"].get("classification", "baseline")
        for report in reports:
            assert_valid(xarf_validator, report, f"XARF report for {report.get('url')} (notice {notice.id})")
            sent = next(i for i in notice.items if i["url"] == report["url"])
            assert report["category"] == "content"
            assert report["type"] == "csam"
            assert report["xarf_version"].startswith("4.")
            assert report["classification"] == classification
            assert report.get("media_type") == notice.case["media_type"]
            if "domain" in report:
                assert report["domain"] == host(sent["url"])
            if sent.get("ip"):
                seen_with_ip = True
                assert report["source_identifier"] == sent["ip"]
            else:
                seen_without_ip = True
                assert report["source_identifier"] in {host(sent["url"]), sent["url"]}, report["source_identifier"]
            hashes = report.get("hash_values", {})
            for name in XARF_HASHES:
                if name in sent["hashes"]:
                    expected, got = sent["hashes"][name], hashes.get(name)
                    if name != "photodna":  # hex digests: case does not matter; base64 it does
                        expected, got = expected.lower(), (got or "").lower()
                    assert got == expected, (name, hashes)
                else:
                    assert name not in hashes, f"{name} reported but never submitted"
            assert report["report_id"] not in report_ids, "report_id reused"
            report_ids.add(report["report_id"])

            broken = copy.deepcopy(report)
            broken["classification"] = "Z9"
            assert errors_of(xarf_validator, broken), "a server report with classification Z9 still validated"
    assert seen_with_ip and seen_without_ip


def test_xarf_classification_baseline_without_industry_classification(world: World):
    notice = world.notice_for("fr")
    assert "classification" not in notice.case["category"]
    reports = world.gateway.get_json(f"/v1/notices/{notice.id}/xarf", notice.partner.token)["reports"]
    assert reports and all(r["classification"] == "baseline" for r in reports)

    german = world.notice_for("de")
    reports = world.gateway.get_json(f"/v1/notices/{german.id}/xarf", german.partner.token)["reports"]
    assert reports and all(r["classification"] == "A1" for r in reports)


def test_xarf_is_not_served_to_another_provider(world: World):
    german, french = world.notice_for("de"), world.partners["fr"]
    response = world.gateway.request(
        "GET", f"/v1/notices/{german.id}/xarf", token=french.token, expect=None
    )
    assert response.status_code == 404, response.status_code
