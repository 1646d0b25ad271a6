// The statistics panel of the auditors' page /audit: the broker's figures over the period,
// ticket and agent (GET /v1/audit/stats, protocol/README.md §11.4), and small inline SVG
// charts of the listed sessions: per day, per outcome, their waits, and the escalation rate.
import { bars, ring } from "./charts.js";
import { WAIT_BUCKETS, duration, outcomeClass, outcomeCounts, percent, sessionsPerDay, waitCounts } from "./audit-data.js";

const $ = (id) => document.getElementById(id);

/**
 * Shows `stats` (the API's answer, or null when it could not be read) and charts `sessions`
 * (the listed ones); `narrowed`: the list has filters the statistics do not take (outcome, satisfaction).
 */
export function renderStats(stats, sessions, narrowed) {
  $("stats-scope").textContent = narrowed
    ? "(figures: the period, ticket and agent; charts: the listed sessions)"
    : "(the period, ticket and agent filters)";
  $("stat-sessions").textContent = stats ? String(stats.sessions) : "–";
  $("stat-answered").textContent = stats ? `${stats.answered} answered · ${stats.unanswered} not · ${stats.live} live` : "";
  $("stat-escalation").textContent = percent(stats?.escalationRate);
  $("stat-transferred").textContent = stats ? `${stats.transferred} transferred (${stats.transfers} hand-overs)` : "";
  $("stat-fcr").textContent = percent(stats?.firstContactResolutionRate);
  $("stat-wait").textContent = duration(stats?.medianWaitSeconds);
  $("stat-handle").textContent = duration(stats?.medianHandleSeconds);
  const survey = stats?.survey?.overall;
  $("stat-csat").textContent = percent(survey?.csat);
  $("stat-surveys").textContent = survey ? `${survey.responses} answer${survey.responses === 1 ? "" : "s"}` : "";

  const days = sessionsPerDay(sessions);
  const every = Math.max(1, Math.ceil(days.length / 8));
  bars($("chart-days"), days.map((entry, index) => ({
    key: entry.day,
    label: index % every === 0 ? entry.day.slice(5) : "",
    title: `${entry.day}: ${entry.count} session${entry.count === 1 ? "" : "s"}`,
    value: days.length <= 16 && entry.count ? String(entry.count) : undefined,
    segments: [{ value: entry.count, className: "day" }],
  })), { width: 480, height: 150, empty: "No sessions" });
  bars($("chart-outcomes"), outcomeCounts(sessions).map(([outcome, count]) => ({
    key: outcome,
    label: outcome,
    title: `${count} ${outcome}`,
    value: String(count),
    segments: [{ value: count, className: `outcome outcome-${outcomeClass(outcome)}` }],
  })), { width: 300, height: 150, empty: "No ended sessions" });
  const waits = waitCounts(sessions);
  bars($("chart-waits"), waits.some(Boolean) ? waits.map((count, index) => ({
    key: WAIT_BUCKETS[index],
    label: WAIT_BUCKETS[index],
    title: `${count} waited ${WAIT_BUCKETS[index]}`,
    value: String(count),
    segments: [{ value: count, className: index < 2 ? "in-target" : "late" }],
  })) : [], { width: 300, height: 150, empty: "No customer joined" });
  ring($("chart-escalation"), stats?.escalationRate ?? null, { size: 150, caption: "escalated or transferred", empty: "No ended sessions" });
  document.body.dataset.stats = stats ? "ready" : "partial";
}
