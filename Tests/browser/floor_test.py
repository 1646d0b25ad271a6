"""The support floor, presence, offers, hand-overs and callbacks in real Chromium
(protocol/README.md §20, with §16–§18).

1. A broker with transfer reasons. An admin opens `/floor` with the link of `tandem floor`
   (the sign-in leaves the address bar; an agent's sign-in is refused). alice opens her
   console (a `tandem session start --console` link without ticket, plus `&lines=line1&max=1`)
   and turns presence on: the floor shows her available; Away and back show on the floor
   too, and the transfer reasons reach the console's form.
2. A premium customer (a signed help link of ticket HD-7) enters the queue: the floor shows
   the waiting entry offered to alice, the console shows the offer card; alice declines, is
   offered it again (she is the only agent), and accepts: the session runs in the console,
   the floor lists it and shows alice busy.
3. alice asks a supervisor: the floor highlights the session with her note. The admin
   watches it from the floor's Watch link: the console in watch mode shows the customer's
   stream read-only, the floor lists the supervisor and no longer the request, the customer
   page says who watches.
4. alice hands the session over to line2 with a reason from the list: the console says
   "Handed over to line2", the customer waits for the next agent, the floor lists the hand-
   over; the log has session.transferred with the reason, supervisor.requested with the
   note, agent.presence changes and the declined offer.
5. A second broker with `--callback-after 2s --offer-timeout 3s`: an offer alice does not
   answer sets her away ("an offer was not answered"); the waiting customer is offered a
   callback, leaves a message, is told "We will call you back about ticket …" and the page
   stays put; the log has queue.callback with the message and the floor counts it.
No page may log a Content-Security-Policy violation. Screenshots: test-artifacts/browser.

usage: python3 Tests/browser/floor_test.py path/to/tandem
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import browser_test as bt  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

check, state, tandem, chromium, csp_violations = bt.check, bt.state, bt.tandem, bt.chromium, bt.csp_violations
# The broker sends floor.state within a second of a change: 20 s is generous.
TIMEOUT = 20


def wait(driver, condition, what, timeout=TIMEOUT):
    return bt.wait(driver, condition, timeout=timeout, what=what)


def shot(driver, name):
    driver.save_screenshot(os.path.join(bt.ARTIFACTS, name))


# Read in one script, so that a row the floor replaces meanwhile cannot go stale under us.
def attr(driver, selector, name):
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;", selector, name)


def href(driver, selector):
    """A link's absolute address (the href property, not the attribute as written)."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.href : null;", selector) or ""


def text(driver, selector):
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector)


def shown(driver, element_id):
    return driver.execute_script(
        "const e = document.getElementById(arguments[0]); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;", element_id)


def data(driver, name):
    return driver.execute_script("return document.body.dataset[arguments[0]] ?? null", name)


def floor_link(client_env, admin, work):
    """The sign-in link `tandem floor` prints (with TANDEM_TOKEN, else --token-file)."""
    result = tandem("floor", token=admin, env_extra=client_env)
    output = result.stdout + result.stderr
    match = re.search(r"(https://\S+/floor#token=tdc_\S+)", result.stdout)
    if not match:
        path = os.path.join(work, "admin.token")
        with open(path, "w") as f:
            f.write(admin + "\n")
        os.chmod(path, 0o600)
        result = tandem("floor", "--token-file", path, env_extra=client_env)
        output += result.stdout + result.stderr
        match = re.search(r"(https://\S+/floor#token=tdc_\S+)", result.stdout)
    assert match, f"tandem floor printed no /floor link: {output}"
    return match.group(1)


def console_link(client_env, agent, extra):
    """A console sign-in (`tandem session start --console`) without its ticket and mode, so the
    console does not start a session by itself, with `extra` added to the fragment."""
    result = tandem("session", "start", "--console", "--ticket", "HD-FLOOR-CONSOLE", "--mode", "camera", token=agent, env_extra=client_env)
    urls = [line for line in result.stdout.splitlines() if line.startswith("https://")]
    assert urls, result.stdout + result.stderr
    url = re.sub(r"&(ticket|mode)=[^&]*", "", urls[0])
    return url + extra


def events(client_env, auditor, kind, predicate=lambda event: True, timeout=10):
    """The logged events of `kind` that satisfy `predicate` (`tandem audit export --what events`),
    waiting up to `timeout` for the first one."""
    deadline = time.time() + timeout
    while True:
        result = tandem("audit", "export", "--what", "events", "--format", "jsonl", token=auditor, env_extra=client_env)
        found = []
        for line in result.stdout.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("kind") == kind and predicate(event):
                found.append(event)
        if found or time.time() > deadline:
            return found
        time.sleep(0.3)


def turn_presence_on(agent):
    agent.find_element(By.ID, "presence-toggle").click()
    wait(agent, lambda d: attr(d, "#presence-state", "data-state") == "available", "presence available on the console")


def floor_and_offers(broker, work):
    base, client_env, alice, audrey = broker.base, broker.client_env, broker.alice, broker.audrey
    root = tandem("users", "add", "root", "--role", "admin", "--data-dir", broker.data).stdout.strip().splitlines()[-1]
    drivers = []
    try:
        # --- 1. the floor, the console, presence ---------------------------------------------
        link = floor_link(client_env, root, work)
        check("tandem floor prints a /floor link with a console sign-in", "/floor#token=tdc_" in link, link)
        floor = chromium(1500, 1100)
        drivers.append(floor)
        floor.get(link)
        wait(floor, lambda d: state(d) == "live", "the first floor.state")
        check("the floor drops the sign-in from the address bar", "token" not in floor.current_url, floor.current_url)
        check("the floor says it is live", (text(floor, "#floor-status") or "").startswith("Live"), text(floor, "#floor-status"))
        check("before alice goes online the floor lists no agent alice", attr(floor, "#agents tr[data-agent='alice']", "data-state") is None)
        check("the floor draws the hourly chart as 24 bars (inline SVG)",
              floor.execute_script("return document.querySelectorAll('#chart-hours g.bar').length") in (0, 24)
              and floor.execute_script("return document.getElementById('chart-waits').dataset.bars") in (None, "0", "6"),
              floor.execute_script("return [document.querySelectorAll('#chart-hours g.bar').length, document.getElementById('chart-waits').dataset.bars]"))

        url = console_link(client_env, alice, "&lines=line1&max=1")
        agent = chromium(1280, 1000)
        drivers.append(agent)
        agent.get(url)
        wait(agent, lambda d: state(d) == "ready", "the console without a ticket")
        check("the console drops the sign-in from the address bar", "token" not in agent.current_url, agent.current_url)
        check("the console shows the presence switch, offline", shown(agent, "presence-toggle") and attr(agent, "#presence-state", "data-state") == "offline",
              text(agent, "#presence-state"))
        check("the console takes its lines and sessions from the link", agent.find_element(By.ID, "presence-lines").get_attribute("value") == "line1"
              and agent.find_element(By.ID, "presence-max").get_attribute("value") == "1")
        turn_presence_on(agent)
        check("presence.status shows the sessions out of the most", "0/1" in (text(agent, "#presence-state") or ""), text(agent, "#presence-state"))
        wait(floor, lambda d: attr(d, "#agents tr[data-agent='alice']", "data-state") == "available", "alice available on the floor")
        row = text(floor, "#agents tr[data-agent='alice']")
        check("the floor shows alice available with her sessions and line", "Available" in row and "0/1" in row and "line1" in row, row)
        reasons = agent.execute_script("const e = document.getElementById('transfer-reason'); return [e.tagName, [...(e.options ?? [])].map((o) => o.value)];")
        check("the broker's transfer reasons fill the console's reason choice", reasons[0] == "SELECT" and {"hardware", "language"} <= set(reasons[1]), reasons)

        agent.find_element(By.ID, "presence-toggle").click()
        wait(agent, lambda d: attr(d, "#presence-state", "data-state") == "away", "away on the console")
        wait(floor, lambda d: attr(d, "#agents tr[data-agent='alice']", "data-state") == "away", "alice away on the floor")
        check("switching to Away shows on the floor", "Away" in text(floor, "#agents tr[data-agent='alice']"))
        shot(floor, "floor-away.png")
        turn_presence_on(agent)
        wait(floor, lambda d: attr(d, "#agents tr[data-agent='alice']", "data-state") == "available", "alice available again on the floor")
        check("switching back to Available shows on the floor", True)

        # A sign-in that is not an admin's: the floor says so and stops.
        token = re.search(r"token=(tdc_[^&]+)", url).group(1)
        refused = chromium(1000, 700)
        drivers.append(refused)
        refused.get(f"{base}/floor#token={token}")
        wait(refused, lambda d: state(d) == "refused", "the floor refusing an agent")
        check("an agent's sign-in on /floor shows 'Sign-in expired or not an admin'", "not an admin" in text(refused, "#floor-status"), text(refused, "#floor-status"))
        refused.quit()
        drivers.remove(refused)

        # --- 2. a customer in the queue, offered, declined, offered again, accepted ------------
        made = tandem("help-link", "--ticket", "HD-7", "--tier", "premium", token=alice, env_extra=client_env)
        help_url = made.stdout.strip().splitlines()[-1] if made.returncode == 0 else ""
        check("tandem help-link makes a signed premium link for HD-7", "/help?" in help_url and "sig=" in help_url, made.stdout + made.stderr)
        customer = chromium(412, 915)
        drivers.append(customer)
        customer.get(base + help_url[help_url.index("/help"):])
        wait(customer, lambda d: state(d) == "ask", "the ask-for-help form")
        customer.find_element(By.CSS_SELECTOR, "#ask-form button").click()
        wait(customer, lambda d: state(d) == "queued", "the customer in the queue")
        wait(floor, lambda d: attr(d, "#waiting tr[data-ticket='HD-7']", "data-queue"), "the waiting entry on the floor")
        waiting = floor.execute_script("const r = document.querySelector(\"#queues tr[data-line='line1'][data-tier='premium']\"); return r ? r.cells[2].textContent : null;")
        check("the floor's queue table has line1 premium with one waiting", waiting == "1", waiting)
        wait(agent, lambda d: shown(d, "offer") and attr(d, "#offer", "data-offer-id"), "the offer card")
        first_offer = attr(agent, "#offer", "data-offer-id")
        card = text(agent, "#offer")
        seconds = int(attr(agent, "#offer-countdown", "data-seconds") or -1)
        check("the console shows the offer: ticket, tier, line and a countdown of at most 15 s",
              "HD-7" in card and "premium" in card and "line1" in card and 0 < seconds <= 15, (card, seconds))
        wait(floor, lambda d: attr(d, "#waiting tr[data-ticket='HD-7']", "data-offered-to") == "alice", "the offer on the floor")
        check("the floor shows the waiting entry offered to alice", True)
        shot(agent, "console-offer.png")
        shot(floor, "floor-waiting.png")
        agent.find_element(By.ID, "offer-decline").click()
        wait(agent, lambda d: shown(d, "offer") and attr(d, "#offer", "data-offer-id") not in (None, first_offer), "the entry offered again")
        check("the only agent is offered the entry again after declining it", "HD-7" in text(agent, "#offer"))
        agent.find_element(By.ID, "offer-accept").click()
        wait(agent, lambda d: state(d) == "live" and data(d, "sessionId"), "the accepted session in the console")
        session = data(agent, "sessionId")
        check("accepting opens the session in the console (hello.take.offer)", bool(session) and not shown(agent, "offer"), session)
        wait(customer, lambda d: state(d) == "consent", "the customer taken")
        check("the customer is taken by alice", "alice" in customer.find_element(By.ID, "consent-title").text, customer.find_element(By.ID, "consent-title").text)
        customer.find_element(By.ID, "allow").click()
        wait(customer, lambda d: state(d) == "sharing", "the customer sharing")
        wait(floor, lambda d: attr(d, f"#sessions tr[data-session='{session}']", "data-agent") == "alice", "the session on the floor")
        session_row = text(floor, f"#sessions tr[data-session='{session}']")
        check("the floor lists the live session with ticket, agent, line and tier", all(word in session_row for word in ("HD-7", "alice", "line1", "premium")), session_row)
        wait(floor, lambda d: attr(d, "#agents tr[data-agent='alice']", "data-state") == "busy", "alice busy on the floor")
        check("the floor shows alice busy at 1/1", "1/1" in text(floor, "#agents tr[data-agent='alice']"), text(floor, "#agents tr[data-agent='alice']"))
        wait(agent, lambda d: attr(d, "#presence-state", "data-state") == "busy", "busy on the console")
        check("the floor no longer lists the customer as waiting", attr(floor, "#waiting tr[data-ticket='HD-7']", "data-queue") is None)
        wait(agent, lambda d: int(d.execute_script("return document.body.dataset.framesReceived || '0'")) >= 3, "the customer's camera in the console")
        shot(agent, "console-session.png")

        # --- 3. asking a supervisor, who watches from the floor ------------------------------
        agent.find_element(By.ID, "supervisor-note").send_keys("router keeps <b>rebooting</b>")
        agent.find_element(By.ID, "ask-supervisor").click()
        wait(agent, lambda d: "Supervisor asked" in d.find_element(By.CSS_SELECTOR, "#chat .chat-log").text, "the chat note")
        check("the console notes that a supervisor was asked", True)
        wait(floor, lambda d: attr(d, f"#sessions tr[data-session='{session}']", "data-help") == "requested", "the help request on the floor")
        help_text = text(floor, f"#sessions tr[data-session='{session}'] .help-note")
        check("the floor highlights the request with the note as plain text",
              help_text == "Help requested: router keeps <b>rebooting</b>"
              and floor.execute_script(f"return document.querySelector(\"#sessions tr[data-session='{session}'] b\") === null"), help_text)
        shot(floor, "floor-help.png")
        watch_link = href(floor, f"#sessions tr[data-session='{session}'] a.watch")
        join_link = href(floor, f"#sessions tr[data-session='{session}'] a.join")
        check("the floor's Watch and Join links open the console on the session with the same sign-in",
              watch_link.startswith(f"{base}/agent#token=tdc_") and f"watch={session}" in watch_link and "participate=0" in watch_link
              and f"watch={session}" in join_link and "participate=1" in join_link
              and attr(floor, f"#sessions tr[data-session='{session}'] a.watch", "target") == "_blank", (watch_link, join_link))
        supervisor = chromium(1280, 900)
        drivers.append(supervisor)
        supervisor.get(watch_link)
        wait(supervisor, lambda d: state(d) == "watching", "the console in watch mode")
        check("the watching console drops the sign-in from the address bar", "token" not in supervisor.current_url)
        check("the supervisor watches as an observer, without drawing tools, freeze or end",
              data(supervisor, "watching") == "observer" and not shown(supervisor, "freeze") and not shown(supervisor, "end")
              and not shown(supervisor, "undo") and not shown(supervisor, "presence-toggle"), data(supervisor, "watching"))
        # Decoded pictures: the first keyframe after joining (the customer's page sends one every 3 s).
        wait(supervisor, lambda d: int(d.find_element(By.ID, "customer-view").get_attribute("data-decoded") or 0) >= 2, "the customer's pictures at the supervisor")
        check("the supervisor sees the customer's stream", True)
        wait(floor, lambda d: "root" in (text(d, f"#sessions tr[data-session='{session}']") or ""), "the supervisor on the floor")
        wait(floor, lambda d: attr(d, f"#sessions tr[data-session='{session}']", "data-help") is None, "the request answered")
        check("the floor lists the supervisor and drops the request once a supervisor joined", True)
        wait(customer, lambda d: "root (supervisor, watching)" in d.find_element(By.ID, "presence").text, "the supervisor on the customer page")
        check("the customer page says the supervisor watches", True)
        shot(supervisor, "console-watch.png")
        supervisor.find_element(By.ID, "leave-watch").click()
        wait(supervisor, lambda d: state(d) == "ended", "the supervisor leaving")
        check("leaving the watch says so", "left" in text(supervisor, "#status"), text(supervisor, "#status"))
        wait(floor, lambda d: "root" not in (text(d, f"#sessions tr[data-session='{session}']") or "root"), "the supervisor gone from the floor")
        check("the session goes on after the supervisor left", state(agent) == "live", state(agent))

        # --- 4. hand-over to line2 with a reason ---------------------------------------------
        check("the console offers the transfer form in a live session", shown(agent, "transfer-form") and shown(agent, "ask-supervisor"))
        Select(agent.find_element(By.ID, "transfer-reason")).select_by_value("hardware")
        agent.find_element(By.ID, "transfer-line").send_keys("line2")
        agent.find_element(By.ID, "transfer-note").send_keys("needs the hardware team")
        agent.find_element(By.CSS_SELECTOR, "#transfer-form button").click()
        wait(agent, lambda d: state(d) == "transferred", "the hand-over on the console")
        status = text(agent, "#status")
        check("the console says where the session went", "Handed over to line2" in status, status)
        wait(customer, lambda d: state(d) == "transferring", "the hand-over notice on the customer page")
        check("the customer stays and waits for the next agent", "handing you over" in customer.find_element(By.ID, "status").text,
              customer.find_element(By.ID, "status").text)
        wait(floor, lambda d: attr(d, "#waiting tr[data-ticket='HD-7']", "data-kind") == "transfer", "the hand-over waiting on the floor")
        check("the floor lists the hand-over waiting on line2", "line2" in text(floor, "#waiting tr[data-ticket='HD-7']"), text(floor, "#waiting tr[data-ticket='HD-7']"))
        wait(floor, lambda d: attr(d, "#agents tr[data-agent='alice']", "data-state") == "available", "alice free again")
        wait(agent, lambda d: attr(d, "#presence-state", "data-state") == "available", "the console available again")
        check("alice is available again after the hand-over, her presence connection still open", True)
        shot(floor, "floor-transfer.png")
        shot(agent, "console-transferred.png")
        # Today's figures come from the log (at most 10 s old): the answer within the 20 s target.
        wait(floor, lambda d: (text(d, "#answered") or "–") not in ("–", "0"), "today's figures with the answer", timeout=30)
        level = (text(floor, "#service-level"), attr(floor, "#service-level", "data-level"))
        check("the floor's service level is 100 % and green (answered within the target, none abandoned)", level == ("100 %", "good"), level)
        bars = floor.execute_script("return ['chart-hours', 'chart-waits'].map((id) => document.querySelectorAll(`#${id} g.bar`).length)")
        within = floor.execute_script("return [...document.querySelectorAll('#chart-hours rect.within')].reduce((sum, r) => sum + Number(r.dataset.value), 0)")
        check("the charts are inline SVG: 24 hourly bars with the answer within target, 6 wait buckets", bars == [24, 6] and within >= 1, (bars, within))
        shot(floor, "floor-figures.png")

        moved = events(client_env, audrey, "session.transferred", lambda e: e.get("sessionId") == session)
        detail = moved[0]["detail"] if moved else {}
        check("the log has session.transferred to line2 with the reason and the note",
              detail.get("reason") == "hardware" and detail.get("line") == "line2" and detail.get("note") == "needs the hardware team"
              and moved[0].get("actor") == "alice", moved)
        asked = events(client_env, audrey, "supervisor.requested", lambda e: e.get("sessionId") == session)
        check("the log has supervisor.requested by alice with the note as typed",
              asked and asked[0]["detail"].get("note") == "router keeps <b>rebooting</b>" and asked[0].get("actor") == "alice", asked)
        refused_offers = events(client_env, audrey, "queue.offer-refused", lambda e: e["detail"].get("offerId") == first_offer)
        check("the log has the declined offer", refused_offers and refused_offers[0]["detail"].get("reason") == "declined", refused_offers)
        answered = events(client_env, audrey, "queue.answered", lambda e: e.get("sessionId") == session)
        check("queue.answered carries the accepted offer", answered and answered[0]["detail"].get("offerId", "").startswith("o_"), answered)
        presence = [e["detail"].get("state") for e in events(client_env, audrey, "agent.presence", lambda e: e.get("actor") == "alice")]
        check("the log has alice's presence changes: available, away, available", presence[:3] == ["available", "away", "available"], presence)

        for name, driver in [("floor", floor), ("agent console", agent), ("customer", customer), ("watching console", supervisor)]:
            violations = csp_violations(driver)
            check(f"the {name} page runs under its Content-Security-Policy without violations", not violations, violations)
    finally:
        for driver in drivers:
            try:
                driver.quit()
            except Exception:
                pass


def callbacks(broker, work):
    base, client_env, alice, audrey = broker.base, broker.client_env, broker.alice, broker.audrey
    root = tandem("users", "add", "root", "--role", "admin", "--data-dir", broker.data).stdout.strip().splitlines()[-1]
    drivers = []
    try:
        floor = chromium(1500, 1100)
        drivers.append(floor)
        floor.get(floor_link(client_env, root, work))
        wait(floor, lambda d: state(d) == "live", "the floor of the second broker")
        agent = chromium(1280, 900)
        drivers.append(agent)
        agent.get(console_link(client_env, alice, ""))
        wait(agent, lambda d: state(d) == "ready", "the console")
        turn_presence_on(agent)

        customer = chromium(412, 915)
        drivers.append(customer)
        customer.get(f"{base}/help?ticket=HD-CB-1")
        wait(customer, lambda d: state(d) == "ask", "the ask-for-help form")
        customer.find_element(By.CSS_SELECTOR, "#ask-form button").click()
        wait(customer, lambda d: state(d) == "queued", "the customer in the queue")

        # An offer not answered in time (--offer-timeout 3s) sets the agent away (§20.2).
        wait(agent, lambda d: shown(d, "offer") or attr(d, "#presence-state", "data-state") == "away", "the offer")
        wait(agent, lambda d: attr(d, "#presence-state", "data-state") == "away", "away after the missed offer")
        note = text(agent, "#presence-note")
        check("an unanswered offer sets the console Away and says why", "You were set to Away because an offer was not answered" in note, note)
        check("the switch shows Away", not agent.find_element(By.ID, "presence-toggle").is_selected())
        wait(agent, lambda d: not shown(d, "offer"), "the offer card gone")
        wait(floor, lambda d: attr(d, "#agents tr[data-agent='alice']", "data-state") == "away", "alice away on the floor")
        shot(agent, "console-missed-offer.png")
        missed = events(client_env, audrey, "agent.presence", lambda e: e["detail"].get("reason") == "missed-offer")
        check("the log has agent.presence away with reason missed-offer", missed and missed[0]["detail"].get("state") == "away", missed)

        # The callback (--callback-after 2s).
        wait(customer, lambda d: shown(d, "callback-form"), "the callback offer")
        check("the waiting customer is asked 'Rather be called back?'", "Rather be called back?" in customer.find_element(By.ID, "callback").text)
        message = "Router <i>blinks</i> red\nafter 5 pm please"
        contact = "+41 44 555 12 12"
        customer.find_element(By.ID, "callback-message").send_keys(message)
        customer.find_element(By.ID, "callback-contact").send_keys(contact)
        shot(customer, "customer-callback.png")
        customer.find_element(By.CSS_SELECTOR, "#callback-form button").click()
        wait(customer, lambda d: shown(d, "callback-done"), "the callback confirmation")
        done = customer.find_element(By.ID, "callback-done").text
        check("the page confirms the callback with the ticket", done == "We will call you back about ticket HD-CB-1.", done)
        time.sleep(2)
        check("the page stays put after the callback (no reconnect, no leave button)",
              state(customer) == "callback" and not shown(customer, "leave") and not shown(customer, "callback-form"), state(customer))
        shot(customer, "customer-callback-done.png")
        logged = events(client_env, audrey, "queue.callback", lambda e: e["detail"].get("ticket") == "HD-CB-1")
        detail = logged[0]["detail"] if logged else {}
        check("the log has queue.callback with the message and contact as typed",
              detail.get("message") == message and detail.get("contact") == contact and detail.get("line") == "line1", logged)
        wait(floor, lambda d: (text(d, "#callbacks") or "").strip() == "1", "the callback in today's figures", timeout=30)
        check("the floor counts the callback today", True)
        check("the floor no longer lists the customer as waiting", attr(floor, "#waiting tr[data-ticket='HD-CB-1']", "data-queue") is None)
        shot(floor, "floor-callback.png")
        for name, driver in [("floor", floor), ("agent console", agent), ("customer", customer)]:
            violations = csp_violations(driver)
            check(f"the {name} page (callback run) runs under its Content-Security-Policy without violations", not violations, violations)
    finally:
        for driver in drivers:
            try:
                driver.quit()
            except Exception:
                pass


def main():
    os.makedirs(bt.ARTIFACTS, exist_ok=True)
    work = tempfile.mkdtemp(prefix="tandem-floor-")
    try:
        data = os.path.join(work, "data")
        with bt.broker_with_users(data, "--offer-timeout", "15s", "--queue-target", "20s",
                                  "--transfer-reason", "hardware", "--transfer-reason", "language") as broker:
            broker.data = data
            floor_and_offers(broker, work)
        data = os.path.join(work, "data-callback")
        with bt.broker_with_users(data, "--callback-after", "2s", "--offer-timeout", "3s") as broker:
            broker.data = data
            callbacks(broker, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"floor: {bt.passed} passed, {bt.failed} failed (screenshots in {bt.ARTIFACTS})")
    sys.exit(1 if bt.failed else 0)


if __name__ == "__main__":
    main()
