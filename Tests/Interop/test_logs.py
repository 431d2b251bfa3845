"""The gateway's structured logs carry request ids and never a secret."""

import re

from conftest import item


def test_logs_have_request_ids_and_no_secrets(gateway_factory):
    gateway = gateway_factory("logs")
    partner = gateway.create_partner(
        name="Log Hosting", locale="en", jurisdiction="GB", domains=["logs.example.com"]
    )
    analyst = gateway.create_analyst_token("log-analyst")
    case = gateway.submit_case(
        {
            "reference": "LOG-1",
            "category": {"uk_grade": "B"},
            "media_type": "image",
            "items": [item("https://logs.example.com/a.jpg")],
        },
        token=analyst,
    )
    notice_id = case["notices"][0]["id"]
    gateway.request("GET", "/v1/notices", token=partner["token"], expect=200)
    gateway.request("GET", f"/v1/notices/{notice_id}", token=partner["token"], expect=200)
    gateway.request("GET", "/v1/notices", token="tdk_" + "x" * 43, expect=401)
    assert gateway.stop() == 0

    # Only what the server wrote: the harness also notes CLI output (which prints a token, once) here.
    log = "\n".join(
        line
        for line in gateway.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        if re.match(r"^\d{4}-\d\d-\d\dT\S+ \w+ takedown", line)
    )
    assert "case submitted" in log
    for secret in (gateway.admin_token, partner["token"], analyst):
        assert secret not in log, "a bearer token was written to the log"
        assert secret[4:] not in log
    assert "Bearer" not in log
    request_lines = [line for line in log.splitlines() if " request" in line and "status=" in line]
    assert len(request_lines) >= 5, log[-2000:]
    assert all("hb.request.id=" in line for line in request_lines)
    assert any("status=401" in line for line in request_lines)
    assert any(f"path=/v1/notices/{notice_id}" in line and "status=200" in line for line in request_lines)
