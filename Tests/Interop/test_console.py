"""The console in a real browser: Debian's chromium driven through chromium-driver by selenium.

An analyst pastes a batch for two providers and one unknown host, checks the routing and issues; a
provider, in a second browser, sees only its notice, acknowledges it and reports part of it removed; the
analyst sees the new states; the scorecard's SVG is there and labelled; a liaison downloads an export
whose SHA-256 matches the signed manifest. No page may log a JavaScript error (a CSP violation is one).
Screenshots of every page at 1280 px and 390 px go to TAKEDOWN_SCREENSHOTS (default
.build/console-screenshots), which the test prints.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import time
from pathlib import Path

import pytest

from conftest import REPO, item, random_hashes, tag

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = Path(os.environ.get("TAKEDOWN_SCREENSHOTS", REPO / ".build" / "console-screenshots"))


class Browser:
    """One chromium session with its own profile, cookies and download folder."""

    def __init__(self, name: str, base: str, downloads: Path) -> None:
        self.name = name
        self.base = base
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--proxy-server=direct://", "--proxy-bypass-list=*"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        downloads.mkdir(parents=True, exist_ok=True)
        options.add_experimental_option("prefs", {
            "download.default_directory": str(downloads), "download.prompt_for_download": False,
        })
        self.downloads = downloads
        self.driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        self.driver.set_page_load_timeout(30)
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        self.errors: list[str] = []

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)
        self.collect_errors()

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def click(self, css: str, confirm: bool = False) -> None:
        """Clicks a button that sends a form, and waits for the page it leads to (not the one it left)."""
        # The page left is marked in its window object; the next page has no mark. No element of the old
        # page is looked up after the click: headless chromium answers such a lookup during navigation with
        # "Node with given id does not belong to the document" rather than as a stale element.
        mark = secrets.token_hex(8)
        for attempt in range(5):
            try:
                self.driver.execute_script("window.takedownLeaving = arguments[0]", mark)
                self.find(css).click()
                break
            except WebDriverException as error:
                if "does not belong to the document" not in str(error) or attempt == 4:
                    raise
                time.sleep(0.2)
        if confirm:
            WebDriverWait(self.driver, 5).until(expected_conditions.alert_is_present()).accept()
        WebDriverWait(self.driver, 15, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return window.takedownLeaving === undefined && document.readyState") == "complete"
        )
        self.collect_errors()

    def sign_in(self, token: str) -> None:
        self.open("/console/sign-in")
        self.find("#token").send_keys(token)
        self.click("form button[type=submit]")

    def collect_errors(self) -> None:
        for entry in self.driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                self.errors.append(f"{self.driver.current_url}: {entry.get('message')}")

    def shoot(self, name: str) -> None:
        """The current page at 1280 px and at phone width (390 px), whole page."""
        for width in (1280, 390):
            self.driver.set_window_size(width, 900)
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(width, min(max(int(height), 600), 4000))
            self.driver.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))
        self.driver.set_window_size(1280, 900)

    def quit(self) -> None:
        self.driver.quit()


@pytest.fixture
def browsers(gateway_factory, tmp_path):
    if not Path(CHROMIUM).exists() or not Path(DRIVER).exists():
        pytest.fail("chromium and chromium-driver are installed by scripts/install-deps")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"console screenshots: {SCREENSHOTS}")
    gateway = gateway_factory("console")
    opened: list[Browser] = []

    def make(name: str) -> Browser:
        browser = Browser(name, gateway.url, tmp_path / f"downloads-{name}")
        opened.append(browser)
        return browser

    try:
        yield gateway, make
    finally:
        for browser in opened:
            browser.quit()


def test_console_end_to_end(browsers):
    gateway, make = browsers
    admin = gateway.admin_token
    alpha = gateway.create_partner(name=f"Alpha Hosting {tag()}", locale="en", jurisdiction="GB", domains=["alpha.test"])
    beta = gateway.create_partner(name=f"Beta Hosting {tag()}", locale="de", jurisdiction="DE", domains=["beta.test"])
    police = gateway.post_json("/v1/partners", {
        "name": f"Police Liaison Unit {tag()}", "kind": "law_enforcement", "contact_email": "unit@police.example.com",
        "locale": "en", "jurisdiction": "GB",
    }, admin)
    hash_list = gateway.post_json("/v1/hash-lists", {
        "name": f"le-grade-a-{tag()}", "audience": "law_enforcement", "hash_types": ["md5", "sha256"],
        "include": {"uk_grades": ["A"]}, "partners": [police["id"]],
    }, admin)
    analyst_token = gateway.create_analyst_token()

    # 1. The analyst pastes a batch, checks the routing, issues.
    analyst = make("analyst")
    analyst.sign_in(analyst_token)
    assert analyst.driver.current_url.endswith("/console/dashboard"), analyst.driver.current_url
    analyst.shoot("dashboard-empty")
    analyst.open("/console/cases/new")
    urls = [f"https://cdn.alpha.test/{tag()}/1.jpg", f"https://cdn.alpha.test/{tag()}/2.jpg",
            f"https://img.beta.test/{tag()}/3.jpg", f"https://unknown-{tag()}.test/4.jpg"]
    lines = []
    for url in urls:
        hashes = random_hashes()
        lines.append(f"{url} md5:{hashes['md5']} sha256:{hashes['sha256']}")
    reference = f"HL-CONSOLE-{tag()}"
    analyst.find("#reference").send_keys(reference)
    analyst.find("#batch").send_keys("\n".join(lines))
    analyst.shoot("case-new")
    analyst.click("form.case-form button[type=submit]")
    rows = analyst.all("table.preview tbody tr")
    assert len(rows) == 4, analyst.driver.page_source
    assert alpha["name"] in rows[0].text and alpha["name"] in rows[1].text
    assert beta["name"] in rows[2].text
    assert "unrouted" in rows[3].text and "no matching" in rows[3].text
    assert gateway.get_json("/v1/notices", admin)["notices"] == [], "the preview issued something"
    analyst.shoot("case-preview")
    analyst.click("form.issue button[type=submit]", confirm=True)
    assert "/console/cases/" in analyst.driver.current_url
    analyst.shoot("case")
    notices = {n["partner_id"]: n for n in gateway.get_json("/v1/notices", admin)["notices"]}
    assert set(notices) == {alpha["id"], beta["id"]}, notices
    alpha_notice, beta_notice = notices[alpha["id"]]["id"], notices[beta["id"]]["id"]

    # 2. The provider, in a second browser, sees only its notice, acknowledges, reports part removed.
    provider = make("provider")
    provider.sign_in(alpha["token"])
    assert provider.driver.current_url.endswith("/console/inbox")
    inbox = provider.find("main").text
    assert alpha_notice in inbox and beta_notice not in inbox
    provider.shoot("provider-inbox")
    provider.driver.get(provider.base + f"/console/notices/{beta_notice}")
    assert "Not found" in provider.find("h1").text
    # The 404 asked for here is logged as a failed load; it is the answer wanted, not a script error.
    provider.driver.get_log("browser")
    provider.open(f"/console/notices/{alpha_notice}")
    assert "valid Ed25519 signature" in provider.find(".signature").text
    provider.shoot("provider-notice")
    provider.click(f"form[action='/console/notices/{alpha_notice}/acknowledge'] button")
    assert "Acknowledged" in provider.find(".flash").text
    boxes = provider.all("input[name=urls]")
    assert len(boxes) == 2
    boxes[1].click()  # untick the second URL: only the first is reported removed
    provider.click(f"form[action='/console/notices/{alpha_notice}/removal'] button")
    assert "Removal reported" in provider.find(".flash").text
    provider.open("/console/scorecard")
    provider.shoot("provider-scorecard")
    provider.open("/console/settings")
    provider.shoot("provider-settings")

    stored = gateway.get_json(f"/v1/notices/{alpha_notice}", admin)
    assert stored["status"] == "acknowledged"
    assert [i["url"] for i in stored["items"] if i.get("removed_at")] == [urls[0]]

    # 3. The analyst's dashboard and notice page show the new states and times.
    analyst.open("/console/dashboard")
    row = next(r for r in analyst.all("table.notices tbody tr") if alpha_notice in r.text)
    assert "acknowledged" in row.text
    assert analyst.all(".clock[data-deadline]"), "no live clock"
    analyst.shoot("dashboard")
    analyst.open(f"/console/notices/{alpha_notice}")
    timeline = analyst.find("ol.timeline").text
    assert "acknowledged" in timeline and "removal" in timeline, timeline
    times = analyst.all("time[datetime]")
    assert times and all(t.get_attribute("title").endswith("UTC") for t in times)
    analyst.shoot("notice")

    # 4. The scorecard's charts are SVG drawn by the server, with a title and description.
    analyst.open(f"/console/partners/{alpha['id']}")
    charts = analyst.all("svg.chart[role=img]")
    assert len(charts) == 3
    for chart in charts:
        labelled = chart.get_attribute("aria-labelledby").split()
        assert all(analyst.driver.find_element(By.ID, ident).get_attribute("textContent") for ident in labelled)
    analyst.shoot("partner-scorecard")

    # 5. Staff publish the list; the liaison downloads an export and checks it against the manifest.
    analyst.open(f"/console/lists/{hash_list['id']}")
    analyst.click("form[action$='/publish'] button")
    analyst.shoot("list-staff")
    liaison = make("liaison")
    liaison.sign_in(police["token"])
    assert liaison.driver.current_url.endswith("/console/lists")
    liaison.shoot("liaison-lists")
    liaison.open(f"/console/lists/{hash_list['id']}")
    liaison.shoot("liaison-list")
    link = next(a for a in liaison.all("table.exports a.button") if "md5" in a.text)
    shown = link.find_element(By.XPATH, "../..").find_element(By.CSS_SELECTOR, "code.digest").text
    link.click()
    deadline = time.monotonic() + 20
    files: list[Path] = []
    while time.monotonic() < deadline:
        files = [f for f in liaison.downloads.iterdir() if not f.name.endswith(".crdownload")]
        if files:
            break
        time.sleep(0.2)
    assert files, "the export was not downloaded"
    digest = hashlib.sha256(files[0].read_bytes()).hexdigest()
    manifest = gateway.get_json(f"/v1/hash-lists/{hash_list['id']}/versions/latest/manifest", police["token"])
    listed = [e for e in manifest["manifest"]["exports"] if e.get("hash") == "md5"]
    assert listed and digest == listed[0]["sha256"] == shown, (digest, listed, shown)

    # 6. Sign-out ends the session: the dashboard asks for sign-in again.
    analyst.click("form.sign-out button")
    analyst.open("/console/dashboard")
    assert analyst.driver.current_url.endswith("/console/sign-in")

    errors = [e for b in (analyst, provider, liaison) for e in b.errors]
    assert not errors, errors
