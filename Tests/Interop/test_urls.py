"""URLs and hosts that are not plain ASCII names: what the gateway emits must still be a URI
(RFC 3986, ASCII) that the notice schema and the XARF schema accept, and routing must not lose them."""

from __future__ import annotations

import ipaddress
import string
from pathlib import Path

import pytest

from conftest import SCHEMAS_DIR, XARF_DIR, XARF_FILES, Gateway, assert_valid, item, load_registry, make_validator, tag

# RFC 3986 characters: unreserved, reserved and "%" for percent-encoding. No space, no non-ASCII.
URI_CHARACTERS = set(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")

PUNYCODE_DOMAIN = "xn--bcher-kva.test"  # bücher.test
UNICODE_DOMAIN = "bücher.test"


def is_uri(text: str) -> bool:
    return bool(text) and set(text) <= URI_CHARACTERS and ":" in text


@pytest.fixture(scope="module")
def urls_gateway(tmp_path_factory: pytest.TempPathFactory):
    gateway = Gateway(tmp_path_factory.mktemp("urls"), name="urls")
    try:
        gateway.start()
        partner = gateway.create_partner(
            name=f"Interop IDN Hosting {tag()}", locale="en", jurisdiction="GB",
            domains=["iri.example.com", PUNYCODE_DOMAIN], ip_ranges=["2001:db8::/32"],
        )
        gateway.partner = partner
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def validators():
    notice = make_validator(SCHEMAS_DIR / "notice.schema.json", load_registry(sorted(SCHEMAS_DIR.glob("*.json"))))
    xarf = make_validator(XARF_DIR / "xarf-v4-master.json", load_registry(XARF_FILES))
    return notice, xarf


def submit(gateway: Gateway, url: str, ip: str | None = None):
    return gateway.request(
        "POST", "/v1/cases", token=gateway.admin_token, expect=None,
        body={"reference": f"URL-{tag()}", "category": {"uk_grade": "C"}, "media_type": "image",
              "items": [item(url, ip=ip)]},
    )


def check_emitted(gateway: Gateway, notice_id: str, validators, expected_url: str | None = None) -> list[dict]:
    """The notice and its XARF reports validate, carry RFC 3986 URIs only and, when given, exactly
    `expected_url`."""
    notice_validator, xarf_validator = validators
    token = gateway.partner["token"]
    document = gateway.get_json(f"/v1/notices/{notice_id}", token)["document"]
    for carried in document["items"]:
        assert is_uri(carried["url"]), f"notice item url {carried['url']!r} is not an RFC 3986 URI"
    assert_valid(notice_validator, document, "notice document")
    reports = gateway.get_json(f"/v1/notices/{notice_id}/xarf", token)["reports"]
    for report in reports:
        assert is_uri(report["url"]), f"XARF url {report['url']!r} is not an RFC 3986 URI"
        assert_valid(xarf_validator, report, "XARF report")
    if expected_url is not None:
        assert [i["url"] for i in document["items"]] == [expected_url], document["items"]
        assert [r["url"] for r in reports] == [expected_url], reports
    return reports


def test_non_ascii_path_is_emitted_percent_encoded(urls_gateway: Gateway, validators):
    """An IRI (non-ASCII path) is accepted and leaves the gateway as its URI (RFC 3987 section 3.1):
    the UTF-8 bytes percent-encoded, everywhere the URL appears."""
    folder = tag()
    response = submit(urls_gateway, f"https://iri.example.com/{folder}/bild-ü.jpg")
    assert response.status_code == 201, response.text
    expected = f"https://iri.example.com/{folder}/bild-%C3%BC.jpg"
    case = response.json()
    assert case["unrouted"] == [], case
    assert [(n["partner_id"], n["items"]) for n in case["notices"]] == [(urls_gateway.partner["id"], [expected])], case
    stored = urls_gateway.get_json(f"/v1/cases/{case['id']}", urls_gateway.admin_token)
    assert [i["url"] for i in stored["items"]] == [expected], stored["items"]
    check_emitted(urls_gateway, case["notices"][0]["id"], validators, expected)


def test_punycode_host_routes_to_punycode_domain(urls_gateway: Gateway, validators):
    """A partner's routing domain in its ASCII (punycode) form must match a URL with that exact host."""
    url = f"https://{PUNYCODE_DOMAIN}/{tag()}.jpg"
    response = submit(urls_gateway, url)
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["unrouted"] == [], f"{url} was not routed to the partner that names {PUNYCODE_DOMAIN}: {case}"
    assert [n["partner_id"] for n in case["notices"]] == [urls_gateway.partner["id"]]
    check_emitted(urls_gateway, case["notices"][0]["id"], validators)


def test_unicode_host_is_routed_like_its_punycode(urls_gateway: Gateway, validators):
    """`bücher.test` and `xn--bcher-kva.test` are the same host: the URL is accepted, carried with the
    punycode host and routed to the partner that names the punycode domain, never dropped."""
    name = tag()
    response = submit(urls_gateway, f"https://{UNICODE_DOMAIN}/{name}.jpg")
    assert response.status_code == 201, response.text
    expected = f"https://{PUNYCODE_DOMAIN}/{name}.jpg"
    case = response.json()
    assert case["unrouted"] == [], f"an IDN host was left unrouted although its punycode form is a routing domain: {case}"
    assert [(n["partner_id"], n["items"]) for n in case["notices"]] == [(urls_gateway.partner["id"], [expected])], case
    check_emitted(urls_gateway, case["notices"][0]["id"], validators, expected)


def test_ipv6_literal_host_gives_an_address_as_xarf_source(urls_gateway: Gateway, validators):
    """XARF's source_identifier names an IP address (e.g. `2001:db8::1`), not a bracketed URL host."""
    response = submit(urls_gateway, f"https://[2001:db8::5]/{tag()}.jpg")
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["unrouted"] == [] and len(case["notices"]) == 1, case
    reports = check_emitted(urls_gateway, case["notices"][0]["id"], validators)
    source = reports[0]["source_identifier"]
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        pytest.fail(f"XARF source_identifier {source!r} for an IPv6-literal URL is not an IP address")
    assert address == ipaddress.ip_address("2001:db8::5"), source
