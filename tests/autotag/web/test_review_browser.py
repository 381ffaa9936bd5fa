"""`autotag review` in a real headless Chromium against the fake Immich: what a person does, end to end.

The page loads and its counts are `classify --dry-run --json`'s; thumbnails load; rejecting a group and
applying pushes exactly the rest to the server, and the next plan holds the rejected changes back; no
token, no page; the API key is in nothing the browser receives.

Uses Debian's `chromium` and `chromium-driver` (CI installs them, see .ci/run); nothing is downloaded at
run time. Without them the test is skipped, saying so, unless AUTOTAG_REQUIRE_BROWSER is set (CI).
Set AUTOTAG_SCREENSHOT=path.png to keep the screenshot it takes (README's docs/review.png).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.types import Message, Receive, Scope, Send

from autotag.cli import main as cli
from autotag.config import load_config
from autotag.counts import CREATIONS
from autotag.demo import demo_config_text
from autotag.plan import PlanRow
from autotag.plan_groups import group_key, load_labels
from autotag.session import Session, output_tags
from autotag.web.server import ReviewServer
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.runner import running_fake_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 20  # seconds: generous for a loaded 2-core CI machine; the happy path takes a fraction

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    if os.environ.get("AUTOTAG_REQUIRE_BROWSER"):
        raise RuntimeError(f"AUTOTAG_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing")
    pytest.skip(
        f"no {CHROMIUM} / {CHROMEDRIVER}: apt-get install chromium chromium-driver (CI does) to run browser tests",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402  (only once we know a browser is there)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


class Recorder:
    """ASGI wrapper keeping every response the server sends (headers and body)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.responses: list[tuple[str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.responses.append((path, b"".join(k + b": " + v for k, v in message.get("headers", []))))
            elif message["type"] == "http.response.body":
                self.responses.append((path, bytes(message.get("body", b""))))
            await send(message)

        await self.app(scope, receive, keep)


@pytest.fixture
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1200,860", "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def dry_run_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert cli(["classify", "--dry-run", "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def wait_for(driver: Any, condition: Any, what: str) -> Any:
    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(condition, message=f"waiting for {what}")


def click(driver: Any, element: Any) -> None:
    """Click as a person would: first bring the element out from under the sticky header."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def page_groups(driver: Any) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for section in driver.find_elements(By.CSS_SELECTOR, "section.feature"):
        feature = section.get_attribute("data-feature")
        for group in section.find_elements(By.CSS_SELECTOR, "details.group"):
            found[(feature, group.get_attribute("data-name"))] = int(group.get_attribute("data-count"))
    return found


def test_review_in_a_real_browser(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    library = generate_library(160, seed=7)
    config = tmp_path / "config.yaml"
    # Every feature on (as the demo), and no settle pauses: the fake applies writes at once.
    config.write_text(
        demo_config_text().replace("settle_seconds_per_asset: 0.05", "settle_seconds_per_asset: 0"), "utf-8"
    )
    config.chmod(0o600)
    with running_fake_server(library) as (url, key):
        for name, value in {"IMMICH_URL": url, "IMMICH_API_KEY": key, "AUTOTAG_CONFIG": str(config),
                            "AUTOTAG_DB": str(tmp_path / "mirror.db")}.items():
            monkeypatch.setenv(name, value)
        assert cli(["sync"]) == 0
        expected = dry_run_json(capsys)
        session = Session(cfg=load_config(config, env=os.environ), db_path=tmp_path / "mirror.db")
        server = ReviewServer(session)
        recorder = Recorder(server.app)
        server.app = recorder
        with server:
            # -- no token, no page (the browser, then plain HTTP for the API and a POST from elsewhere)
            browser.get(server.origin + "/")
            assert "forbidden" in browser.find_element(By.TAG_NAME, "body").text
            assert httpx.get(server.origin + "/api/plan").status_code == 403
            foreign = httpx.post(server.origin + "/api/apply", params={"token": server.token},
                                 json={"fingerprint": "x"}, headers={"Origin": "http://evil.example"})
            assert foreign.status_code == 403

            # -- the page loads and shows the dry run's counts, group by group
            browser.get(server.url)
            summary = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#summary[data-total]"), "the plan")
            mutations = expected["mutations"]
            rows = sum(n for k, n in expected["by_kind"].items() if k not in CREATIONS)  # albums/tags made on the way
            assert int(summary.get_attribute("data-total")) == len(mutations) == rows
            assert f"{expected['changes']} change(s)" in summary.text
            assert f"unclassified {expected['by_status']['unclassified']}" in summary.text
            rows = [PlanRow(**{k: m[k] for k in PlanRow.__dataclass_fields__}) for m in mutations]
            with session.engine.connect() as conn:
                labels = load_labels(conn, session.cfg, rows, output_tags(session.cfg), expected["date_changes"])
            assert page_groups(browser) == Counter(group_key(r, labels) for r in rows)
            # date changes: the dry run's own groups (rule and family), with its counts
            dated = {name: n for (feature, name), n in page_groups(browser).items() if feature == "dates"}
            assert sum(dated.values()) == expected["by_kind"].get("set_date", 0)
            assert sorted(dated.values()) == sorted(g["count"] for g in expected["date_changes"])
            assert len(page_groups(browser)) >= 4  # markers, dates, albums, ... each its own group

            # -- thumbnails load (through the page's server) with the change written under each
            # (a date group if there is one: the README's screenshot shows old -> new dates)
            dated = browser.find_elements(By.CSS_SELECTOR, "section.feature[data-feature='dates'] details.group")
            first = dated[0] if dated else browser.find_element(By.CSS_SELECTOR, "details.group")
            click(browser, first.find_element(By.CSS_SELECTOR, ".group-name"))
            wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "details.group[open] .card")) > 0,
                     "the first group's photos")
            # The first photos (lazy loading leaves the ones far below the fold for later).
            loaded = wait_for(browser, lambda d: d.execute_script(
                "const imgs = [...document.querySelectorAll('details.group[open] img.thumb')].slice(0, 4);"
                "imgs[0].scrollIntoView();"
                "return imgs.every(i => i.complete) ? imgs.map(i => i.naturalWidth) : null;"),
                "thumbnails")
            assert loaded and all(w > 0 for w in loaded), loaded
            assert server.state.thumbs.fetched >= len(loaded)
            card = browser.find_element(By.CSS_SELECTOR, "details.group[open] .card")
            assert card.find_element(By.CSS_SELECTOR, ".change").text
            link = card.find_element(By.TAG_NAME, "a").get_attribute("href")
            assert link.startswith(url + "/photos/")
            if os.environ.get("AUTOTAG_SCREENSHOT"):
                browser.execute_script(
                    "arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -170);", first
                )
                wait_for(browser, lambda d: d.execute_script(
                    "return [...document.querySelectorAll('img.thumb')].slice(0, 12).every(i => i.complete)"), "photos")
                browser.save_screenshot(os.environ["AUTOTAG_SCREENSHOT"])

            # -- photos under review: settle one by choosing one of its proposals, reject another's marker
            review_tag = session.cfg.markers.review
            in_review = f"details.group[data-name='add {review_tag}']"

            def open_review() -> Any:
                group = browser.find_element(By.CSS_SELECTOR, in_review)
                click(browser, group.find_element(By.CSS_SELECTOR, ".group-name"))
                wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"{in_review}[open] .card"),
                         "the photos under review")
                return group

            group = open_review()
            offered = group.find_elements(By.CSS_SELECTOR, ".card button.choose")
            assert offered, "a photo under review offers its competing proposals"
            choice = offered[0].get_attribute("data-choice")
            offered_label = offered[0].text
            assert offered_label.startswith(("folder says", "duplicate says", "tag rule says")), offered_label
            settled = next(m for m in mutations if m["target"] == review_tag
                           and m["asset_id"] == choice.rsplit(":", 1)[1])
            fingerprint = browser.execute_script("return plan.fingerprint")
            click(browser, offered[0])
            wait_for(browser, lambda d: d.execute_script("return plan.fingerprint") != fingerprint, "the choice")
            group = open_review()
            card = group.find_element(By.CSS_SELECTOR, ".card")
            refused = card.get_attribute("data-key")
            click(browser, card.find_element(By.CSS_SELECTOR, "button.no"))
            wait_for(browser, lambda d: d.find_element(By.ID, "summary").get_attribute("data-held-back") == "1",
                     "the rejection of a review marker")
            expected = dry_run_json(capsys)  # the plan as the person left it: the CLI reads the same decisions
            mutations = expected["mutations"]
            keys = {m["idem_key"] for m in mutations}
            assert choice in keys and refused not in keys
            # settled: no marker, or one for what is still in question (a date) without the chosen proposal
            assert all(offered_label not in (m["reason"] or "")
                       for m in mutations if m["idem_key"] == settled["idem_key"])
            assert expected["held_back"] == 1

            # -- reject a whole group (the unclassified markers), apply the rest
            unknown = session.cfg.markers.unclassified
            group = browser.find_element(By.CSS_SELECTOR, f"details.group[data-name='add {unknown}']")
            rejected_count = int(group.get_attribute("data-count"))
            rejected_keys = {m["idem_key"] for m in mutations if m["target"] == unknown}
            assert rejected_count == len(rejected_keys) > 0
            click(browser, group.find_element(By.CSS_SELECTOR, ".reject-group"))
            wait_for(browser, lambda d: d.find_element(By.ID, "summary").get_attribute("data-held-back")
                     == str(rejected_count + 1), "the rejection")  # and the review marker before
            rest = {m["idem_key"]: m for m in mutations if m["idem_key"] not in rejected_keys}
            assert int(browser.find_element(By.ID, "summary").get_attribute("data-total")) == len(rest)
            click(browser, browser.find_element(By.ID, "apply"))
            click(browser, browser.find_element(By.ID, "confirm-yes"))
            wait_for(browser, lambda d: d.find_element(By.ID, "apply-status").get_attribute("data-state")
                     in ("done", "failed"), "the apply")
            status = browser.find_element(By.ID, "apply-status")
            assert status.get_attribute("data-state") == "done", status.text
            assert f"applied {len(rest)} change(s)" in status.text

            # exactly the rest reached the server: the mirror's log of the run, and the fake itself
            with session.engine.connect() as conn:
                run = conn.execute(text("SELECT max(id) FROM runs WHERE command = 'review'")).scalar()
                logged = conn.execute(
                    text(
                        "SELECT kind, target, asset_id FROM changes "
                        "WHERE run_id = :r AND kind NOT IN ('album_create', 'tag_create')"
                    ),
                    {"r": run},
                ).all()
            assert len(logged) == len(rest)
            tagged = {(a, library.tags[t].value) for a, t in library.snapshot()["asset_tags"]}
            for m in rest.values():
                if m["kind"] == "tag_add":
                    assert (m["asset_id"], m["target"]) in tagged, m
                elif m["kind"] == "set_date":
                    sent = json.loads(m["payload"])["dateTimeOriginal"]
                    assert library.assets[m["asset_id"]].date_time_original is not None
                    # the same instant (the payload carries the asset's offset, the fake keeps UTC)
                    assert library.assets[m["asset_id"]].date_time_original == datetime.fromisoformat(sent), m
            assert not any(t == unknown for _, t in tagged)
            # the chosen proposal reached the server; the photo whose marker was rejected does not carry it
            chosen_album = choice.split(":", 1)[1].rsplit(":", 1)[0].removeprefix("name:")
            members = {a for al in library.albums.values() if al.name == chosen_album or al.id == chosen_album
                       for a in al.members}
            assert settled["asset_id"] in members
            refused_asset = refused.rsplit(":", 1)[1]
            assert (refused_asset, review_tag) not in tagged

            # -- the next plan holds the rejected changes back
            again = dry_run_json(capsys)
            assert again["held_back"] == rejected_count + 1  # the review marker too
            assert not {m["idem_key"] for m in again["mutations"]} & rejected_keys
            assert again["mutations"] == []

            # -- the worklists and the rejections, as the tabs show them
            def tab(name: str, ready: str) -> Any:
                click(browser, browser.find_element(By.CSS_SELECTOR, f".tab[data-tab='{name}']"))
                return wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f"#tab-{name} {ready}"), name)

            heading = tab("held", "h2")
            assert heading.text.startswith(f"{rejected_count + 1} rejected change(s)")
            # the choice is listed there too, and can be undone
            assert browser.find_element(By.ID, "chosen").text.startswith("1 proposal(s) you chose")
            assert browser.find_element(By.CSS_SELECTOR, f"#tab-held .card[data-key='{choice}']")
            days = tab("unclassified", "h2")
            assert days.text.startswith(f"{again['by_status']['unclassified']} unclassified photo(s)")
            assert tab("conflicts", "h2").text.startswith(f"{again['by_status']['conflict']} photo(s) in conflict")
            chart = tab("progress", "img")
            wait_for(browser, lambda d: d.execute_script("return arguments[0].complete", chart), "the chart")
            assert chart.get_attribute("naturalWidth") == "640"

            # -- the key is in no page, script or response the browser received
            page_source = browser.page_source
        secret = key.encode()
        assert len(recorder.responses) > 20
        leaks = [path for path, body in recorder.responses if secret in body]
        assert not leaks and key not in page_source
        paths = {p for p, _ in recorder.responses}
        assert {"/", "/static/review.js", "/static/review.css", "/api/plan"} <= paths
        assert any(p.startswith("/thumb/") for p in paths)
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
