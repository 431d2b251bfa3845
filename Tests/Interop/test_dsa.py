"""DSA outputs checked with tools this project did not write.

- The statement-of-reasons draft of every notice validates (jsonschema, Draft 2020-12, format checker)
  against Schemas/statement-of-reasons.schema.json, written from the transparency database's published
  field list; the schema is shown to refuse drafts the database would refuse; the copy inlined in
  openapi.json equals the file; a hotline designated as a trusted flagger gets `SOURCE_TRUSTED_FLAGGER`.
- The Art. 22 report's CSV parses with Python's csv module into the same figures as its JSON.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from jsonschema import Draft202012Validator

from conftest import SCHEMAS_DIR, World, item, tag

SOR_SCHEMA = SCHEMAS_DIR / "statement-of-reasons.schema.json"


@pytest.fixture(scope="module")
def sor_validator() -> Draft202012Validator:
    schema = json.loads(SOR_SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def statement(world: World, notice) -> dict:
    response = world.gateway.request(
        "GET", f"/v1/notices/{notice.id}/statement-of-reasons", token=notice.partner.token)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_draft_validates_and_cites_only_the_notice(world: World, sor_validator: Draft202012Validator):
    assert world.notices
    for notice in world.notices:
        draft = statement(world, notice)
        errors = [e.message for e in sor_validator.iter_errors(draft)]
        assert not errors, (notice.id, errors)
        assert draft["puid"] == notice.id and notice.id in draft["source_identity"], draft
        assert draft["source_type"] == "SOURCE_ARTICLE_16"  # this gateway is not designated
        body = json.dumps(draft)
        for entry in notice.items:
            url = entry["url"]
            assert url not in body and url.split("/")[2] not in body, (url, draft)
        expected = "CONTENT_TYPE_VIDEO" if notice.case["media_type"] == "video" else "CONTENT_TYPE_IMAGE"
        assert draft["content_type"] == [expected], draft


def test_the_schema_refuses_what_the_database_refuses(world: World, sor_validator: Draft202012Validator):
    draft = statement(world, world.notices[0])

    def refused(change) -> bool:
        broken = copy.deepcopy(draft)
        change(broken)
        return not sor_validator.is_valid(broken)

    assert refused(lambda d: d.pop("puid"))
    assert refused(lambda d: d.update(puid="has spaces"))
    assert refused(lambda d: d.pop("illegal_content_legal_ground"))  # required for the illegal-content ground
    assert refused(lambda d: d.update(illegal_content_explanation="x" * 2001))
    assert refused(lambda d: d.update(decision_facts="x" * 5001))
    assert refused(lambda d: d.pop("decision_visibility"))  # at least one of the four decisions
    assert refused(lambda d: d.update(decision_visibility=["DECISION_VISIBILITY_SOMETHING"]))
    assert refused(lambda d: d.update(category="STATEMENT_CATEGORY_MINORS"))  # a 2023 name
    assert refused(lambda d: d.update(automated_decision="No"))  # the 2023 Yes/No form
    assert refused(lambda d: d.update(content_date="2026-11-29T07:00:00Z"))
    assert refused(lambda d: d.update(territorial_scope=["US"]))
    assert refused(lambda d: d.update(url="https://example.com/"))  # no longer a field
    # and takes a provider's adaptation
    adapted = copy.deepcopy(draft)
    adapted.update(puid="platform-decision-42", content_language="EN", decision_account="DECISION_ACCOUNT_TERMINATED")
    assert sor_validator.is_valid(adapted), [e.message for e in sor_validator.iter_errors(adapted)]


def test_openapi_carries_the_same_schema():
    file_schema = json.loads(SOR_SCHEMA.read_text(encoding="utf-8"))
    inlined = json.loads((SCHEMAS_DIR / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"][
        "StatementOfReasons"]
    for key in ("$schema", "$id", "description"):
        file_schema.pop(key)
        inlined.pop(key, None)
    assert inlined == file_schema


def test_a_designated_hotline_drafts_trusted_flagger_statements(gateway_factory, sor_validator):
    gateway = gateway_factory("designated", extra_env={
        "TAKEDOWN_TRUSTED_FLAGGER_DESIGNATED_BY": "Coimisiún na Meán (IE)",
        "TAKEDOWN_TRUSTED_FLAGGER_SCOPE": "child sexual abuse material",
    })
    partner = gateway.create_partner(name=f"Designated Hosting {tag()}", locale="en", jurisdiction="IE",
                                     domains=["designated.test"])
    receipt = gateway.submit_case({
        "reference": f"DSA-{tag()}", "category": {"uk_grade": "A"}, "media_type": "image",
        "items": [item(f"https://designated.test/{tag()}.jpg")],
    })
    notice_id = receipt["notices"][0]["id"]
    draft = gateway.get_json(f"/v1/notices/{notice_id}/statement-of-reasons", partner["token"])
    assert sor_validator.is_valid(draft), [e.message for e in sor_validator.iter_errors(draft)]
    assert draft["source_type"] == "SOURCE_TRUSTED_FLAGGER", draft
    assert "Coimisiún na Meán" in draft["decision_facts"], draft

    window = {
        "from": (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    report = gateway.get_json("/v1/reports/trusted-flagger", gateway.admin_token, params=window)
    assert report["issuer"]["trusted_flagger"] is True and report["total"]["notices"] == 1, report
    text = gateway.request("GET", "/v1/reports/trusted-flagger", token=gateway.admin_token,
                           params={**window, "format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["scope"] for r in rows] == ["total", "provider", "country"], rows
    provider = rows[1]
    assert provider["key"] == partner["id"] and provider["country"] == "IE" and provider["notices"] == "1", provider
    assert int(provider["pending"]) == report["by_provider"][0]["actions"]["pending"] == 1
    assert rows[2]["key"] == "IE"
