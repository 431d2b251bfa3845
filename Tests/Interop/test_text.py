"""The human text of a notice (Accept: text/plain) in the recipient's language, English as fallback."""

from __future__ import annotations

import pytest

from conftest import World

HEADINGS = {
    "en": "TAKEDOWN NOTICE",
    "de": "MELDUNG ZUR ENTFERNUNG",
    "fr": "NOTIFICATION DE RETRAIT",
}


def notice_text(world: World, partner_key: str, token_of: str = "partner", lang: str | None = None) -> tuple[str, object]:
    notice = world.notice_for(partner_key)
    token = notice.partner.token if token_of == "partner" else world.gateway.admin_token
    response = world.gateway.request(
        "GET", f"/v1/notices/{notice.id}", token=token, accept="text/plain",
        params={"lang": lang} if lang else None,
    )
    content_type = response.headers["content-type"].lower()
    assert content_type.startswith("text/plain"), content_type
    assert "charset=utf-8" in content_type.replace(" ", ""), content_type
    response.encoding = "utf-8"
    return response.text, notice


@pytest.mark.parametrize(
    "partner_key, lang, expected",
    [
        ("de", None, "de"),  # the German provider's locale
        ("de", "fr", "fr"),  # ?lang= overrides the locale
        ("fr", None, "fr"),
        ("gb", None, "en"),
        ("pt", None, "en"),  # no Portuguese templates: English
        ("de", "xx", "en"),  # an unknown language asked for: English, not an error
    ],
)
def test_notice_text_language(world: World, partner_key: str, lang: str | None, expected: str):
    text, notice = notice_text(world, partner_key, lang=lang)
    assert HEADINGS[expected] in text, text[:500]
    for other, heading in HEADINGS.items():
        if other != expected:
            assert heading not in text, f"{heading!r} in a {expected} notice"
    assert notice.id in text
    for sent in notice.items:
        assert sent["url"] in text
        assert sent["hashes"]["sha256"] in text
    assert "{{" not in text and "}}" not in text, "unrendered Mustache tags"


def test_staff_read_the_same_text(world: World):
    as_partner, _ = notice_text(world, "de")
    as_staff, _ = notice_text(world, "de", token_of="staff")
    assert HEADINGS["de"] in as_staff
    assert as_partner.splitlines()[0] == as_staff.splitlines()[0]
