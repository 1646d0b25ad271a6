"""The auditors' review page /audit in real Chromium (protocol/README.md §12, with §9, §11
and §19).

1. A broker signing checkpoints every second. alice runs three sessions with the CLI: HD-AUD-1
   recorded (the customer agrees) and ended `resolved`; HD-AUD-2 ended `escalated`, whose
   customer answers the survey (5, solved, a comment with markup); `HD-<b>x</b>` (a ticket
   with markup) that nobody joins, ended `abandoned` with a note with markup.
2. `tandem audit console` prints a /audit link with a console sign-in (8 hours) for the
   auditor (and an admin); the page is served with the strict CSP; the sign-in reads the API
   (GET) but cannot write (POST is 401).
3. The page: the token leaves the address bar (kept in the tab for a reload); the three
   sessions are listed, markup shown as text; the filters (ticket, outcome, satisfaction)
   narrow the list; the statistics have inline SVG charts with bars (sessions per day,
   outcomes, waits) and the escalation rate; the verify badge says intact with the signed
   checkpoints and the tree head the API gives.
4. A session's timeline with who did what (the survey comment as text); the recorded one's
   file matches the SHA-256 in the log and plays in the player (frames drawn); the evidence
   bundle downloads as tandem-evidence-SESSION.zip, a ZIP with manifest.json and the
   recording that `tandem audit verify --bundle` accepts (§11.9).
5. Sign out forgets the sign-in; an unknown sign-in is refused. No page logs an error.
Screenshots: audit-list.png, audit-session.png, audit-stats.png in test-artifacts/browser.

usage: python3 Tests/browser/audit_test.py path/to/tandem
"""
import datetime
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
import browser_test as bt  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

check, state, tandem, chromium = bt.check, bt.state, bt.tandem, bt.chromium
TIMEOUT = 30
MARKUP_TICKET = "HD-<b>x</b>"
MARKUP_NOTE = "<b>x</b> never joined"
SURVEY_COMMENT = "quick & <i>kind</i>"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def wait(driver, condition, what, timeout=TIMEOUT):
    return bt.wait(driver, condition, timeout=timeout, what=what)


def shot(driver, name):
    driver.save_screenshot(os.path.join(bt.ARTIFACTS, name))


def data(driver, name):
    return driver.execute_script("return document.body.dataset[arguments[0]] ?? null", name)


def text(driver, selector):
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector)


def rows(driver):
    """The listed sessions as [{session, ticket, outcome, cells: [text…]}]."""
    return driver.execute_script("""
        return [...document.querySelectorAll('#sessions tbody tr')].map((row) => ({
          session: row.dataset.session, ticket: row.dataset.ticket, outcome: row.dataset.outcome,
          cells: [...row.cells].map((cell) => cell.textContent)}));""")


def listed(driver, count):
    """Waits for a finished listing of `count` sessions."""
    wait(driver, lambda d: state(d) == "ready" and data(d, "sessions") == str(count), f"{count} sessions listed")
    return rows(driver)


def show(driver, ticket="", outcome="", satisfaction=""):
    """Sets the filters and presses Show (the count of the listing before is forgotten first)."""
    driver.execute_script("delete document.body.dataset.sessions")
    field = driver.find_element(By.ID, "filter-ticket")
    field.clear()
    if ticket:
        field.send_keys(ticket)
    Select(driver.find_element(By.ID, "filter-outcome")).select_by_value(outcome)
    Select(driver.find_element(By.ID, "filter-csat")).select_by_value(satisfaction)
    driver.find_element(By.CSS_SELECTOR, "#filters button.primary").click()


def open_session(driver, session):
    """Clicks the session's ticket in the list; waits for its timeline."""
    button = driver.execute_script(
        "return [...document.querySelectorAll('#sessions tbody tr')].find((r) => r.dataset.session === arguments[0])?.querySelector('button.link') ?? null",
        session)
    assert button is not None, f"no row for {session}"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait(driver, lambda d: data(d, "session") == session and (data(d, "timeline") or "").isdigit() and not d.find_element(By.ID, "session").get_attribute("hidden"),
         f"the timeline of {session}")


def timeline(driver):
    return driver.execute_script("""
        return [...document.querySelectorAll('#timeline tbody tr')].map((row) => ({
          kind: row.dataset.kind, actor: row.dataset.actor, who: row.cells[2].textContent, what: row.cells[3].textContent,
          details: row.cells[4].textContent}));""")


def https(broker):
    context = ssl.create_default_context(cafile=broker.client_env["TANDEM_CA"])
    return context


def request(broker, method, path, token=None, body=None):
    """(status, headers, body bytes) of a request to the broker."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(broker.base + path, method=method, headers=headers, data=body.encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, context=https(broker), timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def events_of(broker, session):
    result = tandem("audit", "show", session, "--json", token=broker.audrey, env_extra=broker.client_env)
    try:
        return json.loads(result.stdout).get("events", [])
    except ValueError:
        return []


def run_session(broker, ticket, outcome, note=None, record=False, customer=True, survey=None):
    """A CLI session of alice: started (with --record), joined by a CLI customer streaming a
    pattern (answering the survey from `survey`, the lines typed), ended over the API with
    `outcome` and `note`. Returns the session id."""
    env = {**os.environ, **broker.client_env, "TANDEM_TOKEN": broker.alice}
    command = [bt.TANDEM, "session", "start", "--ticket", ticket, "--mode", "camera"] + (["--record"] if record else [])
    agent = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output = []
    session = code = None
    for line in agent.stdout:
        output.append(line)
        match = re.search(r"Session (s_[a-z0-9]+) ", line)
        session = session or (match.group(1) if match else None)
        if line.startswith("Join code:"):
            code = line.split()[-1]
            break
    assert session and code, "".join(output)
    threading.Thread(target=lambda: output.extend(agent.stdout), daemon=True).start()
    joiner = None
    said = []
    try:
        if customer:
            joiner = subprocess.Popen([bt.TANDEM, "join", code, "--consent", "yes", "--source", "pattern:320x240", "--fps", "10"]
                                      + ([] if survey else ["--no-survey"]),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      env={**os.environ, **broker.client_env})
            # The survey's answers, read once the session has ended (§5.16).
            joiner.stdin.write(survey or "")
            joiner.stdin.close()
            reader = threading.Thread(target=lambda: said.extend(joiner.stdout), daemon=True)
            reader.start()
            deadline = time.time() + TIMEOUT
            while time.time() < deadline and not any(e["kind"] == "stream.started" for e in events_of(broker, session)):
                time.sleep(0.3)
            time.sleep(3)  # about 30 frames at 10 fps
        ended = tandem("session", "end", session, "--outcome", outcome, *(["--note", note] if note else []), token=broker.alice, env_extra=broker.client_env)
        assert ended.returncode == 0, ended.stdout + ended.stderr
        agent.wait(timeout=TIMEOUT)
        if joiner:
            joiner.wait(timeout=TIMEOUT)
            reader.join(timeout=5)
    finally:
        for process in (agent, joiner):
            if process and process.poll() is None:
                process.kill()
    if survey:
        check(f"the customer of {ticket} answers the survey", any("Thank you for your answer." in line for line in said), "".join(said)[-600:])
    if record:
        # The recording is closed and hashed once the session has ended (§19).
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and not any(e["kind"] == "recording.closed" for e in events_of(broker, session)):
            time.sleep(0.3)
        check(f"{ticket} is recorded and its recording closed in the log",
              any(e["kind"] == "recording.closed" for e in events_of(broker, session)), "".join(output)[-600:])
    return session


def audit_link(broker, token):
    result = tandem("audit", "console", token=token, env_extra=broker.client_env)
    match = re.search(r"(https://\S+/audit#token=tdc_[A-Za-z0-9_-]{43})\s*$", result.stdout)
    return (match.group(1) if match else None), result


def review(broker, work):
    root = tandem("users", "add", "root", "--role", "admin", "--data-dir", broker.data).stdout.strip().splitlines()[-1]
    recorded = run_session(broker, "HD-AUD-1", "resolved", note="cable moved", record=True)
    surveyed = run_session(broker, "HD-AUD-2", "escalated", note="needs line 2", survey=f"y\n5\n{SURVEY_COMMENT}\n")
    unanswered = run_session(broker, MARKUP_TICKET, "abandoned", note=MARKUP_NOTE, customer=False)

    # --- the sign-in link, the page's headers, what the sign-in may do ------------------------
    link, result = audit_link(broker, broker.audrey)
    check("tandem audit console prints a /audit link with a console sign-in", link is not None, result.stdout + result.stderr)
    if link is None:
        return
    until = re.search(r"until (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)Z", result.stdout)
    hours = (datetime.datetime.strptime(until.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
             - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 3600 if until else 0
    check("the sign-in lasts 8 hours by default", 7.9 < hours <= 8.01, result.stdout)
    admin_link, admin_result = audit_link(broker, root)
    check("an admin's tandem audit console also prints a /audit link", admin_link is not None, admin_result.stdout + admin_result.stderr)
    short = tandem("audit", "console", "--lifetime", "30s", token=broker.audrey, env_extra=broker.client_env)
    check("--lifetime under a minute is refused", short.returncode != 0 and "between 1 minute and 12 hours" in short.stderr, short.stderr)
    token = re.search(r"token=(tdc_[A-Za-z0-9_-]{43})", link).group(1)

    status, headers, _ = request(broker, "GET", "/audit")
    headers = {name.lower(): value for name, value in headers.items()}
    check("/audit is served with the strict Content-Security-Policy and no camera",
          status == 200 and headers.get("content-security-policy") == CSP and headers.get("permissions-policy", "").startswith("camera=()")
          and headers.get("cache-control") == "no-store", (status, headers))
    status, _, body = request(broker, "GET", "/v1/audit/verify", token=token)
    check("the console sign-in reads the API as the auditor (GET /v1/audit/verify)", status == 200 and json.loads(body).get("status") == "intact", (status, body[:200]))
    status, _, body = request(broker, "POST", "/v1/console-tokens", token=token, body="{}")
    check("the console sign-in cannot write: POST /v1/console-tokens with it is 401", status == 401, (status, body[:200]))

    downloads = os.path.join(work, "downloads")
    os.makedirs(downloads)
    driver = chromium(1400, 1000)
    others = []
    try:
        try:
            driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        except Exception:
            driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})

        # --- the list -----------------------------------------------------------------------
        driver.get(link)
        listed(driver, 3)
        check("the page drops the sign-in from the address bar", "token" not in driver.current_url and driver.current_url.endswith("/audit"), driver.current_url)
        kept = driver.execute_script("return sessionStorage.getItem('tandem.audit.token')")
        check("the tab keeps the sign-in for a reload (sessionStorage)", kept == token)
        listing = rows(driver)
        by_ticket = {row["ticket"]: row for row in listing}
        check("the three sessions are listed, newest first", [row["session"] for row in listing] == [unanswered, surveyed, recorded], listing)
        markup = by_ticket.get(MARKUP_TICKET, {"cells": [""] * 10})
        check("a ticket and a note with markup are shown as text",
              markup["cells"][1] == MARKUP_TICKET and markup["cells"][9] == MARKUP_NOTE
              and driver.execute_script("return document.querySelector('#sessions tbody b') === null"), markup)
        check("the list shows agent, outcome and end", markup["cells"][2] == "alice" and markup["cells"][6] == "abandoned" and markup["cells"][7] == "ended-via-api", markup)
        surveyed_row = by_ticket.get("HD-AUD-2", {"cells": [""] * 10})
        check("the list shows the customer's satisfaction", surveyed_row["cells"][8] == "5/5 · solved" and by_ticket.get("HD-AUD-1", {"cells": [""] * 10})["cells"][8] == "–",
              surveyed_row)
        shot(driver, "audit-list.png")

        # --- filters ----------------------------------------------------------------------------
        show(driver, ticket="HD-AUD-2")
        found = listed(driver, 1)
        check("filtering by ticket lists only that ticket's session", [row["session"] for row in found] == [surveyed], found)
        show(driver, ticket=MARKUP_TICKET)
        found = listed(driver, 1)
        check("filtering by a ticket with markup finds it", [row["session"] for row in found] == [unanswered], found)
        show(driver, outcome="resolved")
        found = listed(driver, 1)
        check("filtering by outcome resolved lists only the resolved session", [(r["session"], r["outcome"]) for r in found] == [(recorded, "resolved")], found)
        show(driver, outcome="unresolved")
        listed(driver, 0)
        check("an outcome no session has lists none and says so", driver.find_element(By.ID, "sessions-empty").is_displayed())
        show(driver, satisfaction="4")
        found = listed(driver, 1)
        check("filtering by satisfaction 4-5 lists only the surveyed session", [row["session"] for row in found] == [surveyed], found)
        driver.find_element(By.ID, "filter-clear").click()
        found = listed(driver, 3)
        check("Clear lists every session again", sorted(row["session"] for row in found) == sorted([recorded, unanswered, surveyed]), found)

        # --- statistics -------------------------------------------------------------------------
        wait(driver, lambda d: data(d, "stats") == "ready", "the statistics")
        charts = driver.execute_script("""
            const bars = (id) => [...document.querySelectorAll(`#${id} g.bar`)].map((g) => ({
              key: g.dataset.key, value: [...g.querySelectorAll('rect')].reduce((sum, r) => sum + Number(r.dataset.value), 0),
              height: Math.max(0, ...[...g.querySelectorAll('rect')].map((r) => Number(r.getAttribute('height'))))}));
            return {days: bars('chart-days'), outcomes: bars('chart-outcomes'), waits: bars('chart-waits'),
                    ring: document.getElementById('chart-escalation').dataset.value,
                    arc: document.querySelectorAll('#chart-escalation circle.ring-value').length};""")
        check("the sessions-per-day chart is an inline SVG with a bar of 3 sessions",
              len(charts["days"]) >= 1 and sum(b["value"] for b in charts["days"]) == 3 and max(b["height"] for b in charts["days"]) > 0, charts["days"])
        outcomes = {b["key"]: b["value"] for b in charts["outcomes"]}
        check("the outcomes chart has a bar per outcome", outcomes == {"resolved": 1, "escalated": 1, "abandoned": 1}
              and all(b["height"] > 0 for b in charts["outcomes"]), charts["outcomes"])
        check("the waits chart has 6 buckets holding the 2 sessions a customer joined",
              len(charts["waits"]) == 6 and sum(b["value"] for b in charts["waits"]) == 2, charts["waits"])
        check("the escalation rate is 1 in 3, drawn as a ring",
              abs(float(charts["ring"] or 0) - 1 / 3) < 0.01 and charts["arc"] == 1 and text(driver, "#stat-escalation") == "33 %",
              (charts["ring"], text(driver, "#stat-escalation")))
        check("the figures count the sessions and the survey", text(driver, "#stat-sessions") == "3" and text(driver, "#stat-csat") == "100 %",
              (text(driver, "#stat-sessions"), text(driver, "#stat-csat")))
        driver.execute_script("document.getElementById('stats').scrollIntoView({block: 'start'})")
        shot(driver, "audit-stats.png")

        # --- the verify badge ---------------------------------------------------------------------
        wait(driver, lambda d: data(d, "verify") not in (None, "") and (data(d, "treeSize") is not None), "the verify badge")
        status, _, body = request(broker, "GET", "/v1/audit/tree-head", token=broker.audrey)
        head = json.loads(body) if status == 200 else {}
        checkpoints = int(data(driver, "checkpoints") or 0)
        check("the verify badge says the log is intact", data(driver, "verify") == "intact" and text(driver, "#verify-badge").startswith("Log intact")
              and driver.find_element(By.ID, "verify").get_attribute("data-status") == "intact", text(driver, "#verify"))
        check("the badge counts the signed checkpoints and gives the last one's time",
              checkpoints >= 1 and f"{checkpoints} signed checkpoint" in text(driver, "#verify-checkpoints"), text(driver, "#verify-checkpoints"))
        check("the badge shows the signed tree head's size and root",
              head.get("size") and data(driver, "treeSize") == str(head["size"]) and head["rootHash"][:16] in text(driver, "#verify-tree"),
              (head, text(driver, "#verify-tree")))

        # --- a session's timeline --------------------------------------------------------------
        open_session(driver, surveyed)
        events = timeline(driver)
        kinds = [event["kind"] for event in events]
        actor = {event["kind"]: event["who"] for event in events}
        check("the timeline shows who did what, in order",
              kinds[:4] == ["session.created", "customer.joined", "consent.granted", "stream.started"] and "session.ended" in kinds and "survey.answered" in kinds
              and actor.get("session.created") == "alice" and actor.get("customer.joined") == "customer" and actor.get("session.ended") == "alice", events)
        answered = next((event for event in events if event["kind"] == "survey.answered"), {})
        check("the survey's comment with markup is shown as text",
              SURVEY_COMMENT in answered.get("details", "") and "score=5" in answered.get("details", "")
              and driver.execute_script("return document.querySelector('#session i') === null"), answered)
        check("a session without a recording has no player", data(driver, "recording") == "none" and not driver.find_element(By.ID, "player").is_displayed())

        open_session(driver, unanswered)
        facts = text(driver, "#session-facts")
        check("the session's facts show the ticket and note with markup as text",
              MARKUP_TICKET in facts and MARKUP_NOTE in facts and driver.execute_script("return document.querySelector('#session b') === null"), facts)

        # --- the recording ------------------------------------------------------------------------
        open_session(driver, recorded)
        wait(driver, lambda d: data(d, "recording") in ("ready", "error"), "the recording in the player")
        check("the recording's SHA-256 matches the audit log", data(driver, "recording") == "ready" and data(driver, "recordingHash") == "match",
              (data(driver, "recording"), data(driver, "recordingHash"), text(driver, "#recording-note")))
        entries = int(driver.find_element(By.ID, "player").get_attribute("data-entries") or 0)
        check("the player reads the recording's entries", entries >= 15, entries)
        Select(driver.find_element(By.ID, "player-speed")).select_by_value("16")
        driver.execute_script("document.getElementById('player').scrollIntoView({block: 'start'})")
        driver.find_element(By.ID, "player-play").click()
        wait(driver, lambda d: d.find_element(By.ID, "player").get_attribute("data-state") == "ended", "the recording played to the end", timeout=90)
        frames = int(driver.find_element(By.ID, "player-view").get_attribute("data-frames") or 0)
        drawn = driver.execute_script("""
            const canvas = document.getElementById('player-view');
            if (!canvas.width) return 0;
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let lit = 0;
            for (let i = 0; i < pixels.length; i += 4) if (pixels[i] + pixels[i + 1] + pixels[i + 2] > 60) lit++;
            return lit;""")
        check("the recorded session plays in the page's player: frames drawn on its canvas", frames >= 15 and drawn > 1000, (frames, drawn))
        # The whole session: facts, the bundle button, the player and the timeline.
        driver.set_window_size(1400, 2200)
        driver.execute_script("document.getElementById('session').scrollIntoView({block: 'start'})")
        shot(driver, "audit-session.png")
        driver.set_window_size(1400, 1000)

        # --- the evidence bundle --------------------------------------------------------------
        driver.find_element(By.ID, "bundle").click()
        wait(driver, lambda d: data(d, "bundle") in ("saved", "failed"), "the evidence bundle", timeout=60)
        check("the bundle button fetches the bundle", data(driver, "bundle") == "saved", text(driver, "#bundle-status"))
        path = os.path.join(downloads, f"tandem-evidence-{recorded}.zip")
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and not (os.path.exists(path) and not any(name.endswith(".crdownload") for name in os.listdir(downloads))):
            time.sleep(0.2)
        check(f"the browser saves it as tandem-evidence-{recorded}.zip", os.path.exists(path), os.listdir(downloads))
        names, manifest = [], {}
        if os.path.exists(path) and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as bundle:
                names = bundle.namelist()
                if "manifest.json" in names:
                    manifest = json.loads(bundle.read("manifest.json"))
        check("the download is a ZIP with manifest.json for the session (tandem-evidence/1) and its recording",
              manifest.get("format") == "tandem-evidence/1" and manifest.get("sessionId") == recorded
              and any(name.startswith("recording/") for name in names), (names, {k: manifest.get(k) for k in ("format", "sessionId")}))
        key = os.path.join(broker.data, "audit-signing.pub.pem")
        verified = tandem("audit", "verify", "--bundle", path, "--key", key, env_extra=broker.client_env) if os.path.exists(path) else None
        check("the downloaded bundle verifies offline (tandem audit verify --bundle)", verified is not None and verified.returncode == 0,
              verified and (verified.stdout + verified.stderr)[-800:])

        # --- a reload, errors, sign out -----------------------------------------------------------
        driver.refresh()
        listed(driver, 3)
        check("a reload of the tab stays signed in", "token" not in driver.current_url)
        logs = driver.get_log("browser")
        errors = [entry["message"] for entry in logs if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]
        check("the page logs no errors and no Content-Security-Policy violations", not errors, errors)
        driver.find_element(By.ID, "sign-out").click()
        wait(driver, lambda d: state(d) == "refused", "signed out")
        check("Sign out forgets the sign-in", driver.execute_script("return sessionStorage.getItem('tandem.audit.token')") is None)
        driver.refresh()
        wait(driver, lambda d: state(d) == "no-token", "the page without a sign-in")
        check("without a sign-in the page says how to get one", "tandem audit console" in text(driver, "#audit-status"), text(driver, "#audit-status"))

        stranger = chromium(1000, 700)
        others.append(stranger)
        stranger.get(f"{broker.base}/audit#token=tdc_{'A' * 43}")
        wait(stranger, lambda d: state(d) == "refused", "an unknown sign-in refused")
        check("an unknown sign-in is refused and forgotten", "tandem audit console" in text(stranger, "#audit-status")
              and stranger.execute_script("return sessionStorage.getItem('tandem.audit.token')") is None, text(stranger, "#audit-status"))
    finally:
        for each in [driver, *others]:
            try:
                each.quit()
            except Exception:
                pass


def main():
    os.makedirs(bt.ARTIFACTS, exist_ok=True)
    work = tempfile.mkdtemp(prefix="tandem-audit-")
    try:
        data_dir = os.path.join(work, "data")
        with bt.broker_with_users(data_dir, "--checkpoint-interval", "1") as broker:
            broker.data = data_dir
            review(broker, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"audit: {bt.passed} passed, {bt.failed} failed (screenshots in {bt.ARTIFACTS})")
    sys.exit(1 if bt.failed else 0)


if __name__ == "__main__":
    main()
