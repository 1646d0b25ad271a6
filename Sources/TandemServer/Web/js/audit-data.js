// What the auditors' page /audit computes from the broker's answers (protocol/README.md §9,
// §11): the survey answers from the CSV export, times and durations for people, and the
// listed sessions per day, per outcome and per wait. No DOM here.

// Waits until the customer joined, as the floor buckets them (§20.6).
export const WAIT_BUCKETS = ["0–10 s", "10–20 s", "20–30 s", "30–60 s", "1–2 min", "> 2 min"];
const WAIT_BOUNDS = [10, 20, 30, 60, 120, Infinity];
// The most days the per-day chart shows (the last ones of the listed sessions).
export const MAX_DAYS = 62;
const DAY_MS = 86_400_000;

/** RFC 4180 CSV (quoted fields with "" for a quote, CRLF or LF line ends) as rows of fields. */
export function parseCSV(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i += 1;
      } else {
        field += c;
        i += 1;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else {
      field += c;
    }
    i += 1;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** A cell as the CSV export wrote it back to its value: the quote the export puts before =, +, -, @, TAB, CR goes (§11.5). */
export function cellValue(text) {
  return /^'[=+\-@\t\r]/.test(text) ? text.slice(1) : text;
}

/**
 * The customers' survey answers (§5.16) from `GET /v1/audit/export?what=sessions&format=csv`:
 * session id → {solved: true|false|null, score: 1–5|null, nps, comment}, for sessions with an answer.
 */
export function surveysFromCSV(text) {
  const [header, ...rows] = parseCSV(text);
  const answers = new Map();
  if (!header) return answers;
  const column = (name) => header.indexOf(name);
  const [id, solved, score, nps, comment] = ["id", "survey_solved", "survey_score", "survey_nps", "survey_comment"].map(column);
  if (id < 0 || score < 0) return answers;
  for (const row of rows) {
    if (row.length < header.length) continue;
    const value = (index) => (index < 0 ? "" : cellValue(row[index] ?? ""));
    if (value(solved) === "" && value(score) === "") continue;
    const number = (text) => (/^\d+$/.test(text) ? Number(text) : null);
    answers.set(value(id), {
      solved: value(solved) === "" ? null : ["yes", "true"].includes(value(solved)),
      score: number(value(score)),
      nps: number(value(nps)),
      comment: value(comment),
    });
  }
  return answers;
}

/** "42 s", "3 min 05 s", "1 h 02 min"; "–" for none. */
export function duration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

export const percent = (share) => (typeof share === "number" && Number.isFinite(share) ? `${Math.round(share * 100)} %` : "–");

/** "2026-11-22 10:00:42Z" (UTC) for an RFC 3339 time or epoch milliseconds; "–" for none. */
export function utcTime(value) {
  if (value === null || value === undefined) return "–";
  const date = new Date(typeof value === "number" ? value : Date.parse(value));
  if (Number.isNaN(date.getTime())) return "–";
  return `${date.toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** "10:00:42.123" (UTC) of epoch milliseconds. */
export function utcClock(millis) {
  const date = new Date(millis);
  return Number.isNaN(date.getTime()) ? "–" : date.toISOString().slice(11, 23);
}

/** The day after an ISO date "2026-11-22": "2026-11-23" (to make "To" include its day). */
export function nextDay(day) {
  const date = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? null : new Date(date.getTime() + DAY_MS).toISOString().slice(0, 10);
}

/**
 * Sessions per UTC day of creation, from the first listed day to the last (at most the last
 * MAX_DAYS), days without sessions included: [{day: "2026-11-22", count}].
 */
export function sessionsPerDay(sessions) {
  const counts = new Map();
  for (const session of sessions) {
    const time = Date.parse(session.createdAt);
    if (Number.isNaN(time)) continue;
    const day = Math.floor(time / DAY_MS);
    counts.set(day, (counts.get(day) ?? 0) + 1);
  }
  if (counts.size === 0) return [];
  const last = Math.max(...counts.keys());
  const first = Math.max(Math.min(...counts.keys()), last - MAX_DAYS + 1);
  const days = [];
  for (let day = first; day <= last; day += 1) {
    days.push({ day: new Date(day * DAY_MS).toISOString().slice(0, 10), count: counts.get(day) ?? 0 });
  }
  return days;
}

/** Ended sessions per outcome (`not-recorded` without one), as the statistics count them (§11.4): [[outcome, count]]. */
export function outcomeCounts(sessions) {
  const counts = new Map();
  for (const session of sessions) {
    if (!session.endedAt) continue;
    const outcome = session.outcome ?? "not-recorded";
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  const order = ["resolved", "unresolved", "escalated", "abandoned", "not-recorded"];
  const rank = (outcome) => (order.includes(outcome) ? order.indexOf(outcome) : order.length);
  return [...counts.entries()].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

/** How many answered sessions waited how long for their customer, per WAIT_BUCKETS. */
export function waitCounts(sessions) {
  const counts = WAIT_BUCKETS.map(() => 0);
  for (const session of sessions) {
    if (!session.customerJoinedAt || typeof session.waitSeconds !== "number") continue;
    counts[WAIT_BOUNDS.findIndex((bound) => session.waitSeconds < bound)] += 1;
  }
  return counts;
}

/** The outcome as a CSS class suffix: known words only. */
export const outcomeClass = (outcome) => (/^[a-z-]+$/.test(outcome) ? outcome : "other");
