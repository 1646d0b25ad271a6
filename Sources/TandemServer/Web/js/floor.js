// The support floor, /floor#token=tdc_… (protocol/README.md §20.6): an admin's live view of
// the queues, the agents, the live sessions and today's figures, from `floor.state`, which
// the broker sends at once, within a second of any change and at least every 5 s. Waits and
// durations count up between two states. Everything a peer typed (tickets, notes, names)
// reaches the page as text only (textContent, SVG text nodes), never as markup.
import { bars } from "./charts.js";
import { TandemSocket } from "./connection.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));
const token = params.get("token");
// The sign-in must not stay in the address bar or the history.
history.replaceState(null, "", location.pathname);
const CLIENT = "tandem-web-floor/1";
const TIERS = ["premium", "standard", "basic"];
const STATE_TEXT = { available: "Available", busy: "Busy", away: "Away", offline: "Offline" };
const WAIT_BUCKETS = ["0–10 s", "10–20 s", "20–30 s", "30–60 s", "1–2 min", "> 2 min"];
const WAIT_BOUNDS = [10, 20, 30, 60, 120, Infinity];
// A state older than this (the broker sends one at least every 5 s) is shown as stale.
const STALE_MS = 15_000;

let socket = null;
let attempt = 0;
let last = null;
// When the last state arrived (performance.now()), and the broker's clock minus ours.
let receivedAt = 0;
let clockOffset = 0;

function setState(state, text) {
  document.body.dataset.state = state;
  $("floor-status").textContent = text;
}

// ---- connection ------------------------------------------------------------------------

function connect() {
  const mine = new TandemSocket({ role: "agent", token, client: CLIENT, floor: {} }, {
    onControl(message) {
      if (mine !== socket) return;
      if (message.type === "floor.state") {
        attempt = 0;
        render(message);
      } else if (message.type === "error") {
        console.warn("Tandem broker:", message.code, message.message);
      }
    },
    onClose({ code, message }) {
      if (mine !== socket) return;
      if (code === 4401 || code === 4403) {
        setState("refused", "Sign-in expired or not an admin. Run `tandem floor` for a new link.");
        return;
      }
      const delay = Math.min(500 * 2 ** attempt, 10_000);
      attempt += 1;
      setState("reconnecting", `${message} Reconnecting in ${Math.ceil(delay / 1000)} s…`);
      setTimeout(connect, delay);
    },
  });
  socket = mine;
  socket.connect();
}

// ---- formatting --------------------------------------------------------------------------

/** "42 s", "3 min 05 s", "1 h 02 min". */
function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

const percent = (share) => (typeof share === "number" ? `${Math.round(share * 100)} %` : "–");
const clock = (date) => new Date(date).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
/** Seconds elapsed since the last state arrived. */
const sinceState = () => (performance.now() - receivedAt) / 1000;

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/**
 * Keeps `tbody` in step with `items`: a row whose item did not change (apart from the
 * fields that count up) stays, so a link is not pulled away under the pointer.
 */
function syncRows(tbody, items, key, build, volatile = []) {
  const old = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
  const rows = items.map((item) => {
    const stable = { ...item };
    for (const name of volatile) delete stable[name];
    const signature = JSON.stringify(stable);
    const id = key(item);
    let row = old.get(id);
    if (!row || row.dataset.signature !== signature) {
      row = build(item);
      row.dataset.key = id;
      row.dataset.signature = signature;
    }
    return row;
  });
  tbody.replaceChildren(...rows);
}

// ---- rendering -----------------------------------------------------------------------------

function render(state) {
  last = state;
  receivedAt = performance.now();
  clockOffset = Date.parse(state.at) - Date.now();
  const present = state.agents.filter((agent) => agent.state !== "offline").length;
  setState("live", `Live · ${present} agent${present === 1 ? "" : "s"} online · ${state.waiting.length} waiting · ${state.sessions.length} live session${state.sessions.length === 1 ? "" : "s"} · updated ${new Date(Date.parse(state.at)).toLocaleTimeString()}`);
  renderToday(state);
  renderQueues(state);
  renderAgents(state);
  renderSessions(state);
  tick();
}

function renderQueues(state) {
  const order = (entry) => `${entry.line}\u0000${TIERS.indexOf(entry.tier)}`;
  const queues = [...state.queues].sort((a, b) => order(a).localeCompare(order(b)));
  syncRows($("queues").tBodies[0], queues, (entry) => `${entry.line}/${entry.tier}`, (entry) => {
    const row = document.createElement("tr");
    row.dataset.line = entry.line;
    row.dataset.tier = entry.tier;
    const wait = cell("");
    wait.dataset.waitBase = String(entry.oldestWaitSeconds);
    row.append(cell(entry.line), cell(entry.tier, `tier tier-${entry.tier}`), cell(String(entry.waiting)), wait);
    return row;
  }, ["oldestWaitSeconds"]);
  // The base of the live wait changes with every state, the row may not.
  for (const [index, entry] of queues.entries()) $("queues").tBodies[0].rows[index].cells[3].dataset.waitBase = String(entry.oldestWaitSeconds);
  $("queues-empty").hidden = queues.length > 0;

  syncRows($("waiting").tBodies[0], state.waiting, (entry) => entry.queueId, (entry) => {
    const row = document.createElement("tr");
    row.dataset.queue = entry.queueId;
    row.dataset.ticket = entry.ticket;
    row.dataset.kind = entry.kind;
    if (entry.offeredTo) row.dataset.offeredTo = entry.offeredTo;
    const wait = cell("");
    row.append(cell(entry.ticket), cell(entry.line), cell(entry.tier, `tier tier-${entry.tier}`),
      cell(entry.kind === "transfer" ? "hand-over" : "customer"), cell(entry.skills.join(", ") || "–"), wait, cell(entry.offeredTo ?? "–"));
    return row;
  }, ["waitedSeconds"]);
  for (const [index, entry] of state.waiting.entries()) $("waiting").tBodies[0].rows[index].cells[5].dataset.waitBase = String(entry.waitedSeconds);
  $("waiting").hidden = state.waiting.length === 0;
}

function renderAgents(state) {
  const agents = [...state.agents].sort((a, b) => a.name.localeCompare(b.name));
  syncRows($("agents").tBodies[0], agents, (agent) => agent.name, (agent) => {
    const row = document.createElement("tr");
    row.dataset.agent = agent.name;
    row.dataset.state = agent.state;
    const badge = document.createElement("span");
    badge.className = "agent-state";
    badge.dataset.state = agent.state;
    badge.textContent = STATE_TEXT[agent.state] ?? agent.state;
    const stateCell = document.createElement("td");
    stateCell.append(badge);
    row.append(cell(agent.name), stateCell, cell(`${agent.sessions}/${agent.maxSessions}`), cell(agent.lines.join(", ") || "–"),
      cell(agent.skills.join(", ") || "–"), cell(clock(agent.since)));
    return row;
  });
  $("agents-empty").hidden = agents.length > 0;
}

function renderSessions(state) {
  syncRows($("sessions").tBodies[0], state.sessions, (session) => session.sessionId, (session) => {
    const row = document.createElement("tr");
    row.dataset.session = session.sessionId;
    row.dataset.agent = session.agent;
    if (session.helpRequested) {
      row.dataset.help = "requested";
      row.className = "help";
    }
    const time = cell("");
    time.dataset.startedAt = String(Date.parse(session.startedAt));
    const help = document.createElement("td");
    if (session.helpRequested) {
      const note = document.createElement("span");
      note.className = "help-note";
      note.textContent = session.helpRequested.note ? `Help requested: ${session.helpRequested.note}` : "Help requested";
      note.title = `since ${clock(session.helpRequested.at)}`;
      help.append(note);
    } else {
      help.textContent = "–";
    }
    const actions = document.createElement("td");
    actions.className = "actions";
    actions.append(joinLink(session, false), joinLink(session, true));
    row.append(cell(session.ticket), cell(session.agent), cell(session.line ?? "–"), cell(session.tier ?? "–", session.tier ? `tier tier-${session.tier}` : ""),
      time, cell(session.customerPresent ? "connected" : "away"), cell(session.supervisors.join(", ") || "–"), help, actions);
    return row;
  });
  $("sessions-empty").hidden = state.sessions.length > 0;
}

/** "Watch" (observer) or "Join" (participant): the console in a new tab (§18). */
function joinLink(session, participate) {
  const link = document.createElement("a");
  link.href = `/agent#token=${encodeURIComponent(token)}&watch=${encodeURIComponent(session.sessionId)}&participate=${participate ? 1 : 0}`;
  link.target = "_blank";
  // A new tab of its own: no window.opener, none of this tab's storage.
  link.rel = "noopener noreferrer";
  link.className = participate ? "join" : "watch";
  link.textContent = participate ? "Join" : "Watch";
  link.title = participate ? "Take part: draw and chat in the session" : "Watch the session without taking part";
  return link;
}

function renderToday(state) {
  const today = state.today;
  const target = state.serviceLevelTarget;
  const level = $("service-level");
  level.textContent = percent(today?.serviceLevel);
  level.dataset.level = typeof today?.serviceLevel !== "number" ? "none" : today.serviceLevel >= target ? "good" : "bad";
  level.dataset.value = typeof today?.serviceLevel === "number" ? String(today.serviceLevel) : "";
  $("service-level-target").textContent = `target ${percent(target)} within ${state.targetSeconds} s`;
  $("answered").textContent = today ? String(today.answered) : "–";
  $("answered-within").textContent = today ? `${today.answeredWithinTarget} within target` : "";
  $("abandoned").textContent = today ? String(today.abandoned) : "–";
  $("callbacks").textContent = today ? String(today.callbacks) : "–";
  $("median-wait").textContent = typeof today?.medianWaitSeconds === "number" ? duration(today.medianWaitSeconds) : "–";
  $("csat").textContent = percent(today?.csat);
  $("surveys").textContent = today ? `${today.surveys} survey${today.surveys === 1 ? "" : "s"}` : "";
  $("fcr").textContent = percent(today?.fcr);

  const hours = today?.byHour ?? [];
  bars($("chart-hours"), hours.map((hour, index) => ({
    label: index % 3 === 0 ? `${index}h` : "",
    title: `${String(index).padStart(2, "0")}:00–${String(index + 1).padStart(2, "0")}:00 UTC: ${hour.answered} answered, ${hour.withinTarget} within target`,
    segments: [{ value: hour.answered, className: "answered" }, { value: Math.min(hour.withinTarget, hour.answered), className: "within" }],
  })), { width: 480, height: 150, empty: "No figures yet", maxBarWidth: Infinity });
  const waits = today?.waits ?? [];
  bars($("chart-waits"), waits.map((count, index) => ({
    label: WAIT_BUCKETS[index] ?? `#${index + 1}`,
    title: `${count} answered after ${WAIT_BUCKETS[index] ?? "?"}`,
    value: String(count),
    // Buckets within the answer-time target in green.
    segments: [{ value: count, className: (WAIT_BOUNDS[index] ?? Infinity) <= state.targetSeconds ? "in-target" : "late" }],
  })), { width: 300, height: 150, empty: "No figures yet", maxBarWidth: Infinity });
  const outcomes = Object.entries(today?.outcomes ?? {}).filter(([, count]) => Number.isFinite(count)).sort(([a], [b]) => a.localeCompare(b));
  bars($("chart-outcomes"), outcomes.map(([outcome, count]) => ({
    label: outcome,
    title: `${count} ${outcome}`,
    value: String(count),
    segments: [{ value: count, className: `outcome outcome-${/^[a-z-]+$/.test(outcome) ? outcome : "other"}` }],
  })), { width: 300, height: 150, empty: today ? "No session ended today" : "No figures yet", maxBarWidth: Infinity });
}

// ---- live counters ---------------------------------------------------------------------------

/** Once a second: waits and durations count up from the last state; long waits turn red. */
function tick() {
  if (!last) return;
  const elapsed = sinceState();
  for (const td of document.querySelectorAll("td[data-wait-base]")) {
    const seconds = Number(td.dataset.waitBase) + elapsed;
    td.textContent = duration(seconds);
    // Over the answer-time target (§20.3): red.
    td.classList.toggle("late", seconds > last.targetSeconds);
  }
  const now = Date.now() + clockOffset;
  for (const td of document.querySelectorAll("td[data-started-at]")) td.textContent = duration((now - Number(td.dataset.startedAt)) / 1000);
  if (document.body.dataset.state === "live" && elapsed * 1000 > STALE_MS) setState("stale", `No news from the broker for ${Math.round(elapsed)} s…`);
}
setInterval(tick, 1000);

if (!token) {
  setState("no-token", "This page needs a sign-in link: run `tandem floor` and open the link it prints.");
} else {
  connect();
}
