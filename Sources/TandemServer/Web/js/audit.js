// The auditors' review page, /audit#token=tdc_… (`tandem audit console` prints the link;
// protocol/README.md §12): the logged sessions with filters, a session's timeline, its
// recording in the shared player (§19), its evidence bundle (§11.9), statistics with small
// SVG charts (§11.4), and whether the log verifies (§11.2, §11.3, §11.8). Everything comes
// from the HTTPS API (§9) with the sign-in as bearer token. Everything a peer typed (tickets,
// notes, comments, event details) reaches the page as text only (textContent), never as markup.
import { duration, nextDay, outcomeClass, surveysFromCSV, utcClock, utcTime } from "./audit-data.js";
import { renderStats } from "./audit-stats.js";
import { checkLog } from "./audit-verify.js";
import { createPlayer } from "./replay-player.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "tandem.audit.token";
// The most sessions one listing asks for (the API's default and cap are 1000 and 10000).
const LIMIT = 1000;
const params = new URLSearchParams(location.hash.slice(1));
// The sign-in must not stay in the address bar or the history; the tab keeps it for reloads.
history.replaceState(null, "", location.pathname);
let token = params.get("token");
if (token) sessionStorage.setItem(TOKEN_KEY, token);
else token = sessionStorage.getItem(TOKEN_KEY);

let listing = 0;
let opening = 0;
let current = null;

function setState(state, text) {
  // A refused sign-in stays refused: later answers of requests under way do not hide it.
  if (document.body.dataset.state === "refused" && state !== "refused") return;
  document.body.dataset.state = state;
  $("audit-status").textContent = text;
}

// ---- the API --------------------------------------------------------------------------------

class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `GET path` with the sign-in; the body as `as` (json, text, blob, arrayBuffer). 401 signs out. */
async function api(path, as = "json") {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
  if (!response.ok) {
    let code = "";
    let message = `the broker answered ${response.status}`;
    try {
      const body = await response.json();
      code = body.error?.code ?? "";
      message = body.error?.message ?? message;
    } catch {
      // Not the API's JSON error: the status says enough.
    }
    if (response.status === 401) signOut("Sign-in expired or unknown. Run `tandem audit console` for a new link.");
    throw new APIError(response.status, code, message);
  }
  return response[as]();
}

function signOut(text) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  current = null;
  player.stop();
  setState("refused", text);
}

// ---- the sessions ---------------------------------------------------------------------------------

function filters() {
  const value = (id) => $(id).value.trim();
  const query = new URLSearchParams();
  if (value("filter-ticket")) query.set("ticket", value("filter-ticket"));
  if (value("filter-agent")) query.set("agent", value("filter-agent"));
  if (value("filter-since")) query.set("since", value("filter-since"));
  const until = value("filter-until") && nextDay(value("filter-until"));
  if (until) query.set("until", until);
  // Statistics take the period, ticket and agent; the list also the outcome.
  const stats = new URLSearchParams(query);
  if (value("filter-outcome")) query.set("outcome", value("filter-outcome"));
  query.set("limit", String(LIMIT));
  return { query, stats, minScore: Number(value("filter-csat")) || 0 };
}

async function refresh() {
  if (!token) return;
  const mine = ++listing;
  const { query, stats, minScore } = filters();
  setState("loading", "Loading sessions…");
  const [list, csv, figures] = await Promise.allSettled([
    api(`/v1/audit/sessions?${query}`),
    api(`/v1/audit/export?what=sessions&format=csv&${query}`, "text"),
    api(`/v1/audit/stats?${stats}`),
  ]);
  if (mine !== listing || !token) return;
  if (list.status === "rejected") {
    setState("error", `The sessions could not be read: ${list.reason.message}`);
    return;
  }
  const surveys = csv.status === "fulfilled" ? surveysFromCSV(csv.value) : null;
  let sessions = list.value.sessions ?? [];
  if (minScore > 0) sessions = surveys ? sessions.filter((session) => (surveys.get(session.id)?.score ?? 0) >= minScore) : [];
  renderSessions(sessions, surveys, list.value.sessions?.length >= LIMIT);
  renderStats(figures.status === "fulfilled" ? figures.value : null, sessions, minScore > 0 || query.has("outcome"));
  const unread = surveys ? "" : " (survey answers could not be read)";
  setState("ready", `${sessions.length} session${sessions.length === 1 ? "" : "s"}${unread}.`);
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function outcomeBadge(outcome) {
  const badge = document.createElement("span");
  badge.className = `outcome-badge outcome-${outcomeClass(outcome ?? "none")}`;
  badge.textContent = outcome ?? "–";
  return badge;
}

function surveyText(answer) {
  if (!answer) return "–";
  const score = answer.score === null ? "" : `${answer.score}/5`;
  const solved = answer.solved === null ? "" : answer.solved ? "solved" : "not solved";
  return [score, solved].filter(Boolean).join(" · ") || "answered";
}

function renderSessions(sessions, surveys, capped) {
  const rows = sessions.map((session) => {
    const row = document.createElement("tr");
    row.dataset.session = session.id;
    row.dataset.ticket = session.ticket;
    row.dataset.outcome = session.outcome ?? "";
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link";
    open.textContent = session.ticket;
    open.title = `Open session ${session.id}`;
    const ticket = document.createElement("td");
    ticket.className = "ticket";
    ticket.append(open);
    const outcome = document.createElement("td");
    outcome.append(outcomeBadge(session.outcome));
    const answer = surveys?.get(session.id);
    const satisfaction = cell(surveys ? surveyText(answer) : "?", "satisfaction");
    if (answer?.comment) satisfaction.title = answer.comment;
    if (answer?.score) satisfaction.dataset.score = String(answer.score);
    row.append(cell(utcTime(session.createdAt)), ticket, cell(session.agent), cell(session.mode), cell(duration(session.waitSeconds)),
      cell(duration(session.durationSeconds)), outcome, cell(session.endedAt ? session.endReason ?? "–" : "live"), satisfaction,
      cell(session.note ?? "", "note"));
    if (current?.id === session.id) row.classList.add("selected");
    row.addEventListener("click", () => openSession(session.id));
    return row;
  });
  $("sessions").tBodies[0].replaceChildren(...rows);
  $("sessions-empty").hidden = rows.length > 0;
  $("sessions-count").textContent = `(${rows.length})`;
  $("sessions-more").hidden = !capped;
  $("sessions-more").textContent = `Only the newest ${LIMIT} are listed: narrow the filters to see older ones.`;
  document.body.dataset.sessions = String(rows.length);
}

// ---- one session ---------------------------------------------------------------------------------

const player = createPlayer({
  view: $("player-view"), overlay: $("player-overlay"), stream: $("player-stream"), streamInfo: $("player-stream-info"),
  speed: $("player-speed"), mute: $("player-mute"), muteLabel: $("player-mute-label"), play: $("player-play"),
  position: $("player-position"), clock: $("player-clock"), audioNote: $("player-audio-note"),
}, {
  setState(state, text) {
    $("player").dataset.state = state;
    if (text) $("player-status").textContent = text;
  },
  data: $("player").dataset,
});

function fact(term, value) {
  const div = document.createElement("div");
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  div.append(dt, dd);
  return div;
}

async function openSession(id) {
  if (!token) return;
  const mine = ++opening;
  player.stop();
  document.body.dataset.session = id;
  document.body.dataset.timeline = "loading";
  for (const row of $("sessions").tBodies[0].rows) row.classList.toggle("selected", row.dataset.session === id);
  let timeline;
  try {
    timeline = await api(`/v1/audit/sessions/${encodeURIComponent(id)}/events`);
  } catch (error) {
    if (mine === opening && token) {
      document.body.dataset.timeline = "error";
      setState("error", `Session ${id} could not be read: ${error.message}`);
    }
    return;
  }
  if (mine !== opening || !token) return;
  current = timeline.session;
  renderSession(timeline.session, timeline.events);
  $("session").hidden = false;
  $("session-title").focus({ preventScroll: true });
  $("session").scrollIntoView({ block: "start" });
  await showRecording(timeline.session, timeline.events, mine);
}

function renderSession(session, events) {
  $("session-id").textContent = session.id;
  const survey = events.find((event) => event.kind === "survey.answered")?.detail;
  const facts = [
    ["Ticket", session.ticket], ["Agent", session.agent], ["Mode", session.mode], ["Created", utcTime(session.createdAt)],
    ["Customer joined", utcTime(session.customerJoinedAt)], ["Ended", session.endedAt ? utcTime(session.endedAt) : "live"],
    ["Wait", duration(session.waitSeconds)], ["Connected", duration(session.connectedSeconds)], ["Duration", duration(session.durationSeconds)],
    ["Outcome", session.outcome ?? "–"], ["End", session.endReason ? `${session.endReason}${session.endedBy ? ` by ${session.endedBy}` : ""}` : "–"],
    ["Customer client", session.customerClient ?? "–"], ["Chat lines · annotations · freezes", `${session.chatMessages} · ${session.annotations} · ${session.freezes}`],
  ];
  if (session.note) facts.push(["Note", session.note]);
  if (survey) {
    const parts = [survey.score ? `${survey.score}/5` : "", survey.solved ? (survey.solved === "yes" ? "solved" : "not solved") : "", survey.nps ? `NPS ${survey.nps}` : ""];
    facts.push(["Survey", parts.filter(Boolean).join(" · ")]);
    if (survey.comment) facts.push(["Survey comment", survey.comment]);
  }
  $("session-facts").replaceChildren(...facts.map(([term, value]) => fact(term, value)));
  $("bundle-status").textContent = "";
  document.body.dataset.bundle = "idle";

  const rows = events.map((event) => {
    const row = document.createElement("tr");
    row.dataset.kind = event.kind;
    row.dataset.actor = event.actor ?? "";
    row.dataset.seq = String(event.seq);
    const time = cell(utcClock(event.atMs ?? Date.parse(event.at)), "time");
    time.title = utcTime(event.atMs ?? event.at);
    const details = document.createElement("td");
    details.className = "details";
    for (const [key, value] of Object.entries(event.detail ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      const pair = document.createElement("span");
      pair.className = "detail";
      const name = document.createElement("span");
      name.className = "detail-key";
      name.textContent = `${key}=`;
      pair.append(name, document.createTextNode(value));
      details.append(pair, " ");
    }
    row.append(time, cell(`#${event.seq}`, "seq"), cell(event.actor ?? "–", "actor"), cell(event.kind, "kind"), details);
    return row;
  });
  $("timeline").tBodies[0].replaceChildren(...rows);
  document.body.dataset.timeline = String(rows.length);
}

const hex = (buffer) => [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/** The session's recording in the player, once its SHA-256 is in the log (`recording.closed`, §19). */
async function showRecording(session, events, mine) {
  const closed = events.find((event) => event.kind === "recording.closed");
  const started = events.some((event) => event.kind === "recording.started");
  const note = $("recording-note");
  $("bundle-recording-label").hidden = !closed;
  $("player").hidden = true;
  note.hidden = true;
  note.classList.remove("bad");
  delete document.body.dataset.recordingHash;
  if (!closed) {
    document.body.dataset.recording = started ? "open" : "none";
    if (started) {
      note.hidden = false;
      note.textContent = "This session was recorded, but the recording is not closed yet (its SHA-256 is not in the log).";
    }
    return;
  }
  document.body.dataset.recording = "loading";
  note.hidden = false;
  note.textContent = "Loading the recording…";
  let buffer;
  try {
    buffer = await api(`/v1/recordings/${encodeURIComponent(session.id)}`, "arrayBuffer");
  } catch (error) {
    if (mine !== opening) return;
    document.body.dataset.recording = "error";
    note.textContent = `The recording could not be loaded: ${error.message}`;
    return;
  }
  if (mine !== opening) return;
  // The file must be the one whose hash the log holds (§19); WebCrypto needs a secure context.
  const digest = globalThis.crypto?.subtle ? hex(await crypto.subtle.digest("SHA-256", buffer)) : null;
  if (mine !== opening) return;
  const matches = digest === closed.detail?.sha256;
  document.body.dataset.recordingHash = digest === null ? "unchecked" : matches ? "match" : "mismatch";
  note.textContent = digest === null
    ? "This browser cannot compute the recording's SHA-256 here: check it with tandem replay."
    : matches
      ? `The recording's SHA-256 matches the audit log (${digest.slice(0, 16)}…).`
      : `Warning: the recording's SHA-256 (${digest.slice(0, 16)}…) is not the one in the audit log.`;
  note.classList.toggle("bad", digest !== null && !matches);
  $("player").hidden = false;
  document.body.dataset.recording = player.load(buffer, `${session.id}.tdrec`) ? "ready" : "error";
}

async function downloadBundle() {
  const session = current;
  if (!session || !token) return;
  const name = `tandem-evidence-${session.id}`.replace(/[^A-Za-z0-9_-]/g, "_") + ".zip";
  const query = !$("bundle-recording-label").hidden && !$("bundle-recording").checked ? "?recording=false" : "";
  document.body.dataset.bundle = "downloading";
  $("bundle").disabled = true;
  $("bundle-status").textContent = "Preparing the evidence bundle…";
  try {
    const blob = await api(`/v1/audit/sessions/${encodeURIComponent(session.id)}/bundle${query}`, "blob");
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    document.body.dataset.bundle = "saved";
    $("bundle-status").textContent = `Saved ${name} (${Math.max(1, Math.round(blob.size / 1024))} KiB). Check it offline with tandem audit verify --bundle ${name}.`;
  } catch (error) {
    document.body.dataset.bundle = "failed";
    $("bundle-status").textContent = `The bundle could not be made: ${error.message}`;
  } finally {
    $("bundle").disabled = false;
  }
}

// ---- start ---------------------------------------------------------------------------------------

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  refresh();
});
// After the form's own reset has cleared the fields.
$("filters").addEventListener("reset", () => setTimeout(refresh));
$("sign-out").addEventListener("click", () => signOut("Signed out. Run `tandem audit console` for a new link."));
const verifyLog = () => token && checkLog((path) => api(path), () => token !== null);
$("verify-again").addEventListener("click", verifyLog);
$("bundle").addEventListener("click", downloadBundle);

if (!token) {
  setState("no-token", "This page needs a sign-in link: run `tandem audit console` and open the link it prints.");
} else {
  refresh();
  verifyLog();
}
