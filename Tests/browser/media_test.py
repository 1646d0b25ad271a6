"""Video and voice between the real pages in real Chromium (protocol/README.md §4.1, §5.9,
§5.14), with a fake camera playing a 720p clip with motion and texture and fake microphones
playing tones (media.py):

1. The customer's camera reaches the agent as WebCodecs video (VP8, the pages' first
   choice): decoded pictures with texture that change over time; the agent's arrow lands
   on the customer's video; freeze works on video.
2. The agent's connection stalls (a proxy stops reading): frames are dropped and, when it
   reads again, a picture captured after that is drawn within a second (a keyframe).
3. Voice: the agent turns it on, the customer allows its microphone, each page hears the
   other's tone (440 / 660 Hz); mute stops the customer's packets; the log has it all.
4. A customer who refuses the microphone: the session goes on, video flows, the customer
   still hears the agent.
5. A browser without WebCodecs falls back to JPEG by itself, and the agent still sees it.

usage: python3 Tests/browser/media_test.py path/to/tandem
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import browser_test as bt  # noqa: E402  (shares check/wait/tandem and the broker helpers)
from media import make_media, media_chromium  # noqa: E402
from proxy import Proxy  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

check, wait, state, tandem = bt.check, bt.wait, bt.state, bt.tandem


def number(driver, element_id, attribute, default=0.0):
    value = driver.execute_script(f"return document.getElementById('{element_id}')?.dataset['{attribute}']")
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def picture(driver, element_id):
    """Mean and spread of the canvas's luminance on a grid, and a small fingerprint of it."""
    return driver.execute_script("""
        const canvas = document.getElementById(arguments[0]);
        if (!canvas.width || !canvas.height) return null;
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const values = [];
        for (let y = 0; y < canvas.height; y += 8) for (let x = 0; x < canvas.width; x += 8) {
          const i = (y * canvas.width + x) * 4;
          values.push(0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2]);
        }
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const spread = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
        return { mean, spread, values };""", element_id)


def difference(a, b):
    return sum(abs(x - y) for x, y in zip(a["values"], b["values"])) / len(a["values"])


def console_session(base, client_env, alice, ticket, port=None):
    """The console link of a new session, pointing at `port` (a proxy) when given."""
    result = tandem("session", "start", "--console", "--ticket", ticket, "--mode", "camera", token=alice, env_extra=client_env)
    url = [line for line in result.stdout.splitlines() if line.startswith("https://")][0]
    return re.sub(r"https://127\.0\.0\.1:\d+", f"https://127.0.0.1:{port}", url) if port else url


def join(driver, base, code, query=""):
    driver.get(f"{base}/j/{code}{query}")
    wait(driver, lambda d: state(d) == "consent", what="the consent question")
    driver.find_element(By.ID, "allow").click()
    wait(driver, lambda d: state(d) == "sharing", what="sharing")


def video_and_voice(base, port, client_env, alice, audrey, clip, tones):
    proxy = Proxy(port, buffer=32 * 1024)
    agent = media_chromium(1280, 900, audio=tones[660])
    customer = media_chromium(412, 915, video=clip, audio=tones[440])
    try:
        agent.get(console_session(base, client_env, alice, "HD-MEDIA-1", proxy.port))
        wait(agent, lambda d: state(d) == "waiting", what="the session on the console")
        code = agent.execute_script("return document.body.dataset.joinCode")
        session = agent.execute_script("return document.body.dataset.sessionId")
        join(customer, base, code)

        # --- 1. video ---------------------------------------------------------------------
        wait(agent, lambda d: number(d, "customer-view", "decoded") >= 20, what="decoded video at the agent")
        codec = agent.execute_script("return document.getElementById('customer-view').dataset.codec")
        check("the customer's camera reaches the agent as VP8 video (WebCodecs), the pages' first choice", codec == "vp8", codec)
        first = picture(agent, "customer-view")
        time.sleep(1.0)
        second = picture(agent, "customer-view")
        check("the decoded picture is 720p with texture (not blank or flat)",
              first and agent.execute_script("const c = document.getElementById('customer-view'); return [c.width, c.height]") == [1280, 720]
              and first["spread"] > 20, first and first["spread"])
        check("the decoded picture moves (two pictures a second apart differ)", difference(first, second) > 1.0, difference(first, second))
        wait(agent, lambda d: number(d, "stats", "fps") >= 5 and number(d, "stats", "kbps") > 0, what="the receiving statistics")
        stats = agent.execute_script("return {...document.getElementById('stats').dataset}")
        sent = customer.execute_script("return {...document.getElementById('send-stats').dataset}")
        check("both pages show codec, size, frame rate and bit rate of the video",
              stats.get("codec") == "vp8" and stats.get("width") == "1280" and float(stats.get("kbps", 0)) > 0
              and sent.get("codec") == "vp8" and float(sent.get("bitrate", 0)) > 0, (stats, sent))
        print(f"     video at the agent: {stats}; sent: {sent}")

        overlay = agent.find_element(By.ID, "customer-overlay")
        agent.execute_script("arguments[0].scrollIntoView({block: 'center'})", overlay)
        ActionChains(agent).move_to_element_with_offset(overlay, -100, -50).click_and_hold().move_by_offset(150, 80).release().perform()
        shapes = wait(customer, lambda d: d.execute_script("return document.getElementById('preview-overlay').dataset.shapes") or None,
                      what="the arrow on the customer's video")
        check("the agent's arrow drawn on the video lands on the customer's video", shapes.startswith("arrow:"), shapes)
        agent.find_element(By.ID, "freeze").click()
        frozen = wait(customer, lambda d: d.execute_script("return document.getElementById('preview').dataset.frozen") or None,
                      what="freeze on the customer's video")
        check("freeze-frame on video shows the customer the agent's frame",
              frozen == agent.execute_script("return document.getElementById('customer-view').dataset.frozen"), frozen)
        agent.find_element(By.ID, "freeze").click()
        agent.save_screenshot(os.path.join(bt.ARTIFACTS, "media-agent-video.png"))

        # --- 2. a stalled reader recovers with a keyframe -----------------------------------
        proxy.stall()
        time.sleep(3)
        resumed_at = time.time() * 1000
        proxy.resume()
        wait(agent, lambda d: number(d, "customer-view", "captured") >= resumed_at, timeout=15, what="a picture captured after the stall")
        recovery = time.time() * 1000 - resumed_at
        check(f"after a 3 s stall of the agent's connection, a picture captured after it is drawn within 1 s ({recovery:.0f} ms)",
              recovery <= 1000, recovery)

        # --- 3. voice -------------------------------------------------------------------------
        agent.find_element(By.ID, "voice-start").click()
        wait(customer, lambda d: d.execute_script("return document.getElementById('voice').dataset.voice") == "asking",
             what="the customer being asked for the microphone")
        question = customer.find_element(By.ID, "voice-question").text
        check("the customer is asked before its microphone is used, naming the agent", "alice" in question, question)
        customer.find_element(By.ID, "voice-allow").click()
        wait(agent, lambda d: number(d, "voice-stats", "packets") >= 50, what="the customer's voice at the agent")
        wait(customer, lambda d: number(d, "voice-stats", "packets") >= 50, what="the agent's voice at the customer")
        time.sleep(1)
        heard_by_agent = agent.execute_script("return {...document.getElementById('voice-stats').dataset}")
        heard_by_customer = customer.execute_script("return {...document.getElementById('voice-stats').dataset}")
        print(f"     the agent hears: {heard_by_agent}\n     the customer hears: {heard_by_customer}")
        check("the agent hears the customer's 440 Hz tone",
              abs(float(heard_by_agent.get("peakHz", 0)) - 440) < 15 and float(heard_by_agent.get("level", 0)) > 0.001, heard_by_agent)
        check("the customer hears the agent's 660 Hz tone",
              abs(float(heard_by_customer.get("peakHz", 0)) - 660) < 15 and float(heard_by_customer.get("level", 0)) > 0.001, heard_by_customer)
        check("video goes on while they talk", number(agent, "stats", "fps") >= 3, number(agent, "stats", "fps"))
        customer.find_element(By.ID, "voice-mute").click()
        time.sleep(1)
        before = number(agent, "voice-stats", "packets")
        time.sleep(2)
        after = number(agent, "voice-stats", "packets")
        check("mute stops the customer's voice (no packets reach the agent)", after - before <= 3, (before, after))
        customer.find_element(By.ID, "voice-mute").click()
        agent.find_element(By.ID, "voice-end").click()
        wait(customer, lambda d: d.execute_script("return document.getElementById('voice').dataset.voice") == "off", what="voice off at the customer")
        agent.find_element(By.CSS_SELECTOR, "#end-form button").click()
        wait(customer, lambda d: state(d) == "ended", what="the end")
        record = json.loads(tandem("audit", "show", session, "--json", token=audrey, env_extra=client_env).stdout)
        kinds = [event["kind"] for event in record["events"]]
        check("the log has voice on, the microphone's consent, both sides' audio start and stop, and voice off",
              "voice.enabled" in kinds and "voice.disabled" in kinds and kinds.count("audio.started") == 2
              and kinds.count("audio.stopped") == 2
              and any(e["kind"] == "consent.granted" and e["detail"].get("source") == "microphone" for e in record["events"]), kinds)
        for name, driver in [("customer", customer), ("agent console", agent)]:
            violations = bt.csp_violations(driver)
            check(f"the {name} page plays video and voice without Content-Security-Policy violations", not violations, violations)
    finally:
        agent.quit()
        customer.quit()
        proxy.close()


def refused_microphone(base, client_env, alice, clip, tones):
    agent = media_chromium(1280, 900, audio=tones[660])
    customer = media_chromium(412, 915, video=clip, audio=tones[440])
    try:
        agent.get(console_session(base, client_env, alice, "HD-MEDIA-2"))
        wait(agent, lambda d: state(d) == "waiting", what="the second session")
        join(customer, base, agent.execute_script("return document.body.dataset.joinCode"))
        wait(agent, lambda d: number(d, "customer-view", "decoded") >= 5, what="video")
        agent.find_element(By.ID, "voice-start").click()
        wait(customer, lambda d: d.execute_script("return document.getElementById('voice').dataset.voice") == "asking", what="the question")
        customer.find_element(By.ID, "voice-refuse").click()
        wait(agent, lambda d: d.execute_script("return document.getElementById('voice').dataset.peerConsent") == "false",
             what="the refusal at the agent")
        before = number(agent, "customer-view", "decoded")
        wait(customer, lambda d: number(d, "voice-stats", "packets") >= 25, what="the agent's voice at the customer")
        time.sleep(1)
        check("after refusing the microphone the session goes on: video flows and the customer still hears the agent",
              number(agent, "customer-view", "decoded") > before + 5 and number(agent, "voice-stats", "packets") == 0
              and state(customer) == "sharing", (before, number(agent, "customer-view", "decoded")))
        agent.find_element(By.CSS_SELECTOR, "#end-form button").click()
        wait(customer, lambda d: state(d) == "ended", what="the end")
    finally:
        agent.quit()
        customer.quit()


def jpeg_fallback(base, client_env, alice, clip):
    agent = media_chromium(1280, 900)
    customer = media_chromium(412, 915, video=clip, no_webcodecs=True)
    try:
        agent.get(console_session(base, client_env, alice, "HD-MEDIA-3"))
        wait(agent, lambda d: state(d) == "waiting", what="the third session")
        join(customer, base, agent.execute_script("return document.body.dataset.joinCode"))
        wait(agent, lambda d: number(d, "customer-view", "decoded") >= 5, what="frames from the browser without WebCodecs")
        codec = agent.execute_script("return document.getElementById('customer-view').dataset.codec")
        shown = picture(agent, "customer-view")
        check("a browser without WebCodecs sends JPEG by itself, and the agent sees it", codec == "jpeg" and shown["spread"] > 20, codec)
        voice = customer.execute_script("return document.getElementById('voice').dataset.voice")
        check("without WebCodecs the customer's voice panel says voice is unavailable instead of failing", voice in ("unavailable", "off"), voice)
        agent.find_element(By.CSS_SELECTOR, "#end-form button").click()
        wait(customer, lambda d: state(d) == "ended", what="the end")
    finally:
        agent.quit()
        customer.quit()


def main():
    os.makedirs(bt.ARTIFACTS, exist_ok=True)
    work = tempfile.mkdtemp(prefix="tandem-media-")
    clip, tones = make_media(os.path.join(work, "media"))
    data = os.path.join(work, "data")
    try:
        with bt.broker_with_users(data) as broker:
            video_and_voice(broker.base, broker.port, broker.client_env, broker.alice, broker.audrey, clip, tones)
            refused_microphone(broker.base, broker.client_env, broker.alice, clip, tones)
            jpeg_fallback(broker.base, broker.client_env, broker.alice, clip)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"media: {bt.passed} passed, {bt.failed} failed (screenshots in {bt.ARTIFACTS})")
    sys.exit(1 if bt.failed else 0)


if __name__ == "__main__":
    main()
