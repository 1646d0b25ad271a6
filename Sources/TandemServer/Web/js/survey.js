// The post-session survey (protocol/README.md §5.16): the customer's `session.ended` carries
// `survey` {token, expiresAt, nps}; the answer goes to POST /v1/surveys with that token.
// The offer is kept in localStorage (per session id, with the page it came from), so that
// reloading the same page shows it again until it is answered, declined or closed (24 h).
// `document.body.dataset.survey` says where it stands, for people's styles and for tests:
// offered, sent, answered-before, expired, skipped or failed.

export const SURVEY_PATH = "/v1/surveys";
const PREFIX = "tandem.survey.";
const MAX_COMMENT = 1000;
// Control characters other than line breaks and tabs are refused by the broker (§5.16).
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the survey works for this visit only
  }
}

function read(key) {
  try {
    const offer = JSON.parse(storage()?.getItem(key) ?? "null");
    if (!offer || typeof offer.token !== "string" || typeof offer.sessionId !== "string") return null;
    const expires = Date.parse(offer.expiresAt);
    return Number.isNaN(expires) ? null : { ...offer, expires };
  } catch {
    return null;
  }
}

function forget(sessionId) {
  try {
    storage()?.removeItem(PREFIX + sessionId);
  } catch {
    // nothing kept
  }
}

/** Drops every kept offer whose day has passed; returns the open one of `page` (newest), or null. */
export function pendingSurvey(page, now = Date.now()) {
  const store = storage();
  if (!store) return null;
  let found = null;
  const keys = [];
  for (let index = 0; index < store.length; index += 1) {
    const key = store.key(index);
    if (key?.startsWith(PREFIX)) keys.push(key);
  }
  for (const key of keys) {
    const offer = read(key);
    if (!offer || offer.expires <= now) {
      try { store.removeItem(key); } catch { /* ignore */ }
      continue;
    }
    if (offer.page === page && (!found || offer.expires > found.expires)) found = offer;
  }
  return found;
}

/** The survey form in `root` (customer.html's #survey). */
export class SurveyPanel {
  constructor(root, { page = location.pathname, onChange = () => {} } = {}) {
    this.root = root;
    this.page = page;
    this.onChange = onChange;
    this.form = root.querySelector("form");
    this.npsGroup = root.querySelector("[data-survey-nps]");
    this.comment = root.querySelector("textarea");
    this.error = root.querySelector("[data-survey-error]");
    this.result = root.querySelector("[data-survey-result]");
    this.send = root.querySelector("[data-survey-send]");
    this.skip = root.querySelector("[data-survey-skip]");
    this.title = root.querySelector("h2");
    this.offer = null;
    this.timer = null;
    this.busy = false;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.skip.addEventListener("click", () => this.decline());
    // A hint about a missing answer goes once the customer answers.
    this.form.addEventListener("change", () => this.error.hidden || this.setError(""));
  }

  /**
   * Shows the survey of `sessionId` (`offer` as in session.ended). `remember`: keep it for
   * a reload of this page. Returns false when it is closed already.
   */
  show(sessionId, offer, { remember = true, focus = true } = {}) {
    const expires = Date.parse(offer.expiresAt);
    if (Number.isNaN(expires) || expires <= Date.now()) return false;
    this.offer = { sessionId, token: offer.token, expiresAt: offer.expiresAt, nps: offer.nps === true, expires };
    if (remember) {
      try {
        storage()?.setItem(PREFIX + sessionId, JSON.stringify({
          sessionId, token: offer.token, expiresAt: offer.expiresAt, nps: offer.nps === true, page: this.page,
        }));
      } catch {
        // full or disabled storage: this visit only
      }
    }
    this.form.reset();
    this.npsGroup.hidden = !this.offer.nps;
    this.form.hidden = false;
    this.setError("");
    this.result.textContent = "";
    this.setBusy(false);
    this.root.hidden = false;
    clearTimeout(this.timer);
    // setTimeout's longest wait is about 24.8 days; a survey is open for one.
    this.timer = setTimeout(() => this.close("expired", "This survey has closed: it was open for 24 hours after your session."),
      Math.min(expires - Date.now(), 2 ** 31 - 1));
    this.setState("offered");
    if (focus) this.title.focus();
    return true;
  }

  /** The answer as POST /v1/surveys takes it, or a message saying what is missing. */
  answer() {
    const data = new FormData(this.form);
    const solved = data.get("solved");
    const score = Number(data.get("score"));
    if (solved !== "yes" && solved !== "no") return { missing: "Please tell us whether your problem was solved.", field: "solved" };
    if (!Number.isInteger(score) || score < 1 || score > 5) return { missing: "Please choose how satisfied you are, from 1 to 5.", field: "score" };
    const answer = { token: this.offer.token, solved: solved === "yes", score };
    if (this.offer.nps && data.get("nps") !== null) {
      const nps = Number(data.get("nps"));
      if (!Number.isInteger(nps) || nps < 0 || nps > 10) return { missing: "Please choose a number from 0 to 10.", field: "nps" };
      answer.nps = nps;
    }
    const comment = String(data.get("comment") ?? "").replace(CONTROLS, "").trim();
    if (comment) answer.comment = Array.from(comment).slice(0, MAX_COMMENT).join("");
    return { answer };
  }

  async submit() {
    if (!this.offer || this.busy) return;
    const { answer, missing, field } = this.answer();
    if (missing) {
      this.setError(missing);
      this.form.querySelector(`input[name="${field}"]`)?.focus();
      return;
    }
    this.setError("");
    this.setBusy(true);
    this.result.textContent = "Sending your answer…";
    let response;
    let body = null;
    try {
      response = await fetch(SURVEY_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(answer),
        credentials: "omit",
        cache: "no-store",
      });
      body = await response.json().catch(() => null);
    } catch {
      this.fail("Your answer could not be sent: the connection failed. Please try again.");
      return;
    }
    switch (response.status) {
      case 201:
        this.close("sent", "Thank you! Your answer was sent.");
        break;
      case 409:
        this.close("answered-before", "This survey was already answered. Thank you!");
        break;
      case 410:
        this.close("expired", "This survey has closed: it was open for 24 hours after your session.");
        break;
      case 403:
        this.close("failed", "This survey is not valid for this service, so your answer was not taken.");
        break;
      default: {
        // 400 (a member out of range), 413, 5xx: the form stays, to correct or send again.
        const message = typeof body?.error?.message === "string" ? ` (${body.error.message})` : "";
        this.fail(`Your answer could not be sent${message}. Please try again.`);
      }
    }
  }

  decline() {
    if (!this.offer || this.busy) return;
    this.close("skipped", "No problem. Thank you for contacting us!");
  }

  /** The survey is done with (answered, declined, closed or refused): forgotten here too. */
  close(state, text) {
    clearTimeout(this.timer);
    if (this.offer) forget(this.offer.sessionId);
    this.offer = null;
    this.form.hidden = true;
    this.setBusy(false);
    this.setError("");
    this.result.textContent = text;
    this.setState(state);
  }

  fail(text) {
    this.setBusy(false);
    this.result.textContent = "";
    this.setError(text);
    this.setState("failed");
  }

  setError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  setBusy(busy) {
    this.busy = busy;
    this.send.disabled = busy;
    this.skip.disabled = busy;
    this.form.setAttribute("aria-busy", String(busy));
  }

  setState(state) {
    document.body.dataset.survey = state;
    this.onChange(state);
  }
}
