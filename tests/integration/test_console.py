"""The web console in a real browser (Debian's headless Chromium) against the lab, with real calls.

A person signs in with the token, watches a call to 500 come and go on the wallboard, dials
out and transfers from the agent desktop, gets a screen pop when their phone rings, and reads
the API docs on a machine with no internet. Phones are real baresip clients on the lab
Asterisk. With ``CTI_SCREENSHOTS`` set to a folder, the wallboard and the agent desktop with
live calls are saved there (how docs/img/ is made).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.keys import Keys

from tests.integration.browser import Browser
from tests.integration.conftest import PhoneFactory
from tests.integration.workerproc import WorkerProcess
from tests.sipkit import Phone

pytestmark = pytest.mark.lab

PAGES = ("/console/", "/console/agent", "/console/history")
# WCAG AA: normal text needs 4.5:1 against what is behind it.
CONTRAST = """
function lum(c) {
  const [r, g, b] = c.match(/[0-9.]+/g).slice(0, 3).map(Number).map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function background(el) {
  for (let e = el; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (c && !c.endsWith(", 0)") && c !== "transparent") return c;
  }
  return "rgb(255, 255, 255)";
}
const worst = [];
for (const el of document.querySelectorAll("body *")) {
  const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own || !el.getClientRects().length) continue;
  const style = getComputedStyle(el);
  if (style.visibility === "hidden" || parseFloat(style.opacity) < 1) continue;
  const [a, b] = [lum(style.color), lum(background(el))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const text = el.textContent.trim().slice(0, 30);
  if (ratio < 4.5) worst.push(`${el.tagName} "${text}" ${ratio.toFixed(2)}`);
}
return worst;
"""


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    browser = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.quit()


@pytest.fixture
def browser(chromium: Browser, worker: WorkerProcess) -> Browser:
    chromium.reset(worker.api_url)
    return chromium


def sign_in(browser: Browser, worker: WorkerProcess, token: str | None = None) -> None:
    """As a person does it: the page, the token field (focused), Enter."""
    browser.page(worker.api_url + "/")
    field = browser.find("#token")
    assert browser.driver.switch_to.active_element == field  # autofocus: type at once
    field.send_keys(token or worker.token, Keys.ENTER)


def signed_in(browser: Browser, worker: WorkerProcess) -> None:
    sign_in(browser, worker)
    browser.wait(lambda b: b.url.endswith("/console/"), what="the wallboard after sign-in")


def use_extension(browser: Browser, worker: WorkerProcess, extension: str) -> None:
    browser.page(worker.api_url + "/console/agent")
    field = browser.find("#extension")
    field.clear()
    field.send_keys(extension, Keys.ENTER)
    browser.wait(lambda b: f"live: {extension}" in b.text(".live-dot"), what="the desktop's stream")


def screenshot(browser: Browser, name: str) -> None:
    folder = os.environ.get("CTI_SCREENSHOTS")
    if folder:
        browser.screenshot(Path(folder) / name)


# ----------------------------------------------------------------------------------- sign-in
def test_a_wrong_token_is_refused_and_the_right_one_opens_the_wallboard(
    browser: Browser, worker: WorkerProcess
) -> None:
    sign_in(browser, worker, token="not-the-token")
    browser.wait(lambda b: "not right" in b.text("#status"), what="the refusal")
    assert browser.url.rstrip("/") == worker.api_url
    assert not browser.driver.get_cookies()

    sign_in(browser, worker)
    browser.wait(lambda b: b.url.endswith("/console/"), what="the wallboard")
    browser.wait(lambda b: b.text("#calls-title") == "Live calls", what="its first panel")
    cookie = browser.driver.get_cookie("cti_session")
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert worker.token not in browser.url

    browser.find("header button").click()  # sign out
    browser.wait(lambda b: b.all("#token"), what="the sign-in page again")
    browser.page(worker.api_url + "/console/")
    assert browser.all("#token"), "a page without a session goes back to sign-in"


# --------------------------------------------------------------------------------- wallboard
def test_a_call_to_500_appears_on_the_wallboard_and_goes_when_it_ends(
    browser: Browser, worker: WorkerProcess, phones: PhoneFactory
) -> None:
    signed_in(browser, worker)
    browser.wait(lambda b: b.text(".live-dot") == "live", what="the event stream")
    caller = phones("1000")

    caller.call("500", timeout=15.0)
    answered = time.monotonic()
    row = browser.wait(lambda b: b.all('#calls tr[data-caller="1000"]'), what="the call's row")[0]
    seen = time.monotonic() - answered
    assert "1000" in row.text
    assert "500" in row.text
    browser.wait(lambda b: "main" in b.text('#calls tr[data-caller="1000"]'), what="its IVR path")
    caller.hangup()
    ended = time.monotonic()
    browser.wait(lambda b: not b.all('#calls tr[data-caller="1000"]'), what="the row to go")
    gone = time.monotonic() - ended
    print(f"wallboard: row {seen:.2f} s after the answer, gone {gone:.2f} s after the hang-up")
    assert not [e for e in browser.console_errors() if "favicon" not in e]


def test_the_wallboard_shows_who_talks_to_whom_and_who_waits_in_a_queue(
    browser: Browser, worker: WorkerProcess, phones: PhoneFactory
) -> None:
    """2000 talks to 1000; 1003 pressed 1 and the sales queue rings 1001 for it: the board
    shows both calls with their connected party and queue, the phones and the queue's agents."""
    agent = phones("1000", auto_answer=True)
    ringing = phones("1001")
    caller, queued = phones("2000"), phones("1003")
    signed_in(browser, worker)
    caller.call("1000", timeout=15.0)
    agent.wait_event("CALL_ESTABLISHED", timeout=10.0)
    queued.call("500", timeout=15.0)
    queued.send_dtmf("1")
    ringing.wait_event("CALL_INCOMING", timeout=20.0)

    talking = '#calls tr[data-caller="2000"]'
    waiting = '#calls tr[data-caller="1003"]'
    browser.wait(lambda b: "1000" in b.text(talking).split("bridged")[-1], what="2000 with 1000")
    browser.wait(lambda b: "sales" in b.text(waiting), what="1003 in the sales queue")
    browser.wait(lambda b: "ringing 1001" in b.text(waiting), what="its agent's phone ringing")
    assert "main" in browser.text(waiting)  # the IVR path it came through
    browser.wait(
        lambda b: "online" in b.text('#endpoints tr[data-endpoint="1001"]'), what="1001 online"
    )
    assert "offline" in browser.text('#endpoints tr[data-endpoint="1002"]')
    browser.wait(
        lambda b: "ringing" in b.text('[data-queue="sales"] tr[data-agent="1001"]'),
        what="agent 1001 ringing on the board",
    )
    screenshot(browser, "wallboard.png")
    queued.hangup()
    caller.hangup()
    agent.wait_event("CALL_CLOSED", timeout=10.0)
    browser.wait(lambda b: not b.all("#calls tr[data-call]"), what="an empty board")


# ------------------------------------------------------------------------------ agent desktop
def on_a_call(
    browser: Browser, worker: WorkerProcess, phones: PhoneFactory
) -> tuple[Phone, Phone, Phone]:
    """2000 calls agent 1000, whose desktop is open; 1001 answers whatever rings it. Returns
    (agent, transfer target, caller) once the desktop offers the call's transfer controls."""
    agent = phones("1000", auto_answer=True)
    target = phones("1001", auto_answer=True)
    caller = phones("2000")
    signed_in(browser, worker)
    use_extension(browser, worker, "1000")
    caller.call("1000", timeout=15.0)
    agent.wait_event("CALL_ESTABLISHED", timeout=10.0)
    browser.wait(lambda b: b.all("#transfer-to"), what="the call's transfer controls")
    return agent, target, caller


def test_a_screen_pop_appears_when_the_agents_phone_rings(
    browser: Browser, worker: WorkerProcess, phones: PhoneFactory
) -> None:
    agent = phones("1001")
    caller = phones("2000")
    signed_in(browser, worker)
    use_extension(browser, worker, "1001")

    caller.dial("1001")
    agent.wait_event("CALL_INCOMING", timeout=10.0)
    browser.wait(lambda b: not b.find("#pop").get_attribute("hidden"), what="the screen pop")
    assert browser.text('[data-field="pop-caller"]') == "2000"
    caller.hangup()
    agent.wait_event("CALL_CLOSED", timeout=10.0)


def test_click_to_dial_from_the_desktop_rings_the_other_phone(
    browser: Browser, worker: WorkerProcess, phones: PhoneFactory
) -> None:
    me = phones("1000", auto_answer=True)
    other = phones("2000")
    signed_in(browser, worker)
    use_extension(browser, worker, "1000")

    browser.find("#dial-to").send_keys("2000", Keys.ENTER)

    me.wait_event("CALL_ESTABLISHED", timeout=15.0)  # my phone first ...
    other.wait_event("CALL_INCOMING", timeout=15.0)  # ... then the number I dialled
    other.answer()
    other.wait_event("CALL_ESTABLISHED", timeout=10.0)
    browser.wait(lambda b: "2000" in b.text("#call"), what="the call on the desktop")
    browser.press("#call", "Hang up")  # from the page
    other.wait_event("CALL_CLOSED", timeout=10.0)


def test_a_transfer_from_the_desktop_moves_the_caller(
    browser: Browser, worker: WorkerProcess, phones: PhoneFactory
) -> None:
    agent, target, caller = on_a_call(browser, worker, phones)
    screenshot(browser, "agent-desktop.png")

    browser.type_into("#transfer-to", "1001")
    browser.press("#call", "Transfer")

    target.wait_event("CALL_ESTABLISHED", timeout=15.0)
    agent.wait_event("CALL_CLOSED", timeout=10.0)
    browser.wait(lambda b: "No call" in b.text("#call"), what="the desktop to be free")
    caller.hangup()
    target.wait_event("CALL_CLOSED", timeout=10.0)


def test_an_attended_transfer_from_the_desktop_consults_then_completes(
    browser: Browser, worker: WorkerProcess, phones: PhoneFactory
) -> None:
    agent, target, caller = on_a_call(browser, worker, phones)

    browser.type_into("#transfer-to", "1001")
    browser.press("#call", "Consult first")
    target.wait_event("CALL_ESTABLISHED", timeout=15.0)  # the agent talks to 1001 first
    browser.press("#call", "Complete")  # enabled once 1001 answered

    agent.wait_event("CALL_CLOSED", timeout=10.0)  # the agent is released ...
    status, live = worker.api("GET", "/calls/live")
    assert status == 200
    (call,) = live["calls"]  # ... and 2000 talks to 1001
    assert {p["extension"] for p in call["parties"]} == {"2000", "1001"}
    caller.hangup()
    target.wait_event("CALL_CLOSED", timeout=10.0)


def test_an_agent_pauses_and_unpauses_from_the_desktop(
    browser: Browser, worker: WorkerProcess, phones: PhoneFactory
) -> None:
    phones("1001")
    signed_in(browser, worker)
    use_extension(browser, worker, "1001")
    browser.wait(lambda b: "available" in b.text('[data-field="agent-state"]'), what="available")

    browser.type_into("#pause-reason", "lunch")
    browser.press("#agent", "Pause")
    browser.wait(lambda b: "paused" in b.text('[data-field="agent-state"]'), what="paused")
    status, agents = worker.api("GET", "/agents")
    assert status == 200
    (me,) = [a for a in agents["agents"] if a["extension"] == "1001"]
    assert (me["state"], me["pause_reason"]) == ("paused", "lunch")

    browser.press("#agent", "Unpause")
    browser.wait(lambda b: "available" in b.text('[data-field="agent-state"]'), what="back")


# ------------------------------------------------------------------------------------ history
def test_history_lists_a_finished_call_and_shows_its_timeline(
    browser: Browser, worker: WorkerProcess, phones: PhoneFactory
) -> None:
    caller = phones("1000")
    caller.call("7777", timeout=15.0)  # the echo test
    caller.hangup()
    caller.wait_event("CALL_CLOSED", timeout=10.0)
    signed_in(browser, worker)
    browser.page(worker.api_url + "/console/history")
    row = browser.wait(lambda b: b.all("#history tr"), what="the history rows")[0]
    assert "7777" in row.text
    row.find_element("css selector", "button").click()
    browser.wait(lambda b: "call-ended" in b.text("#detail"), what="the timeline")

    browser.find("#caller").send_keys("2000", Keys.ENTER)  # a filter that matches nothing
    browser.wait(lambda b: b.text("#status") == "0 call(s)", what="no call from 2000")
    caller_field = browser.find("#caller")
    caller_field.clear()
    caller_field.send_keys("1000", Keys.ENTER)
    browser.wait(lambda b: "7777" in b.text("#history"), what="the call from 1000 again")


# ----------------------------------------------------------------------------- docs, a11y
def test_the_api_docs_render_without_the_internet(browser: Browser, worker: WorkerProcess) -> None:
    browser.page(worker.api_url + "/docs")
    browser.wait(lambda b: "cti" in b.text(".swagger-ui .info .title"), what="Swagger UI")
    sources = [s.get_attribute("src") or "" for s in browser.all("script[src]")]
    assert sources
    assert all(s.startswith(worker.api_url + "/docs/static/") for s in sources), sources


@pytest.mark.parametrize("path", ["/", *PAGES])
def test_every_control_is_labelled_and_text_has_contrast(
    browser: Browser, worker: WorkerProcess, path: str
) -> None:
    if path != "/":
        signed_in(browser, worker)
    browser.page(worker.api_url + path)
    browser.wait(lambda b: b.find("main").get_attribute("aria-busy") != "true", what="the page")
    controls = browser.all("button, input, select, a[href]")
    assert controls
    unnamed = [
        (c.get_attribute("outerHTML") or "")[:80]
        for c in controls
        if not (c.accessible_name or "").strip()
    ]
    assert not unnamed, unnamed
    assert browser.driver.execute_script(CONTRAST) == []
