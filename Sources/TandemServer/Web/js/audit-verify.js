// The verify badge of the auditors' page /audit: whether the audit log's hash chain and
// signed checkpoints hold (GET /v1/audit/verify, protocol/README.md §11.2, §11.3), its signed
// checkpoints (GET /v1/audit/checkpoints) and the signed Merkle tree head of the log now
// (GET /v1/audit/tree-head, §11.8).
import { utcTime } from "./audit-data.js";

const $ = (id) => document.getElementById(id);

/** Checks the log with `api(path)` (a GET as JSON) and shows the result; `signedIn()`: still signed in. */
export async function checkLog(api, signedIn) {
  const badge = $("verify-badge");
  $("verify").dataset.status = "checking";
  badge.textContent = "Checking the log…";
  const [verify, checkpoints, head] = await Promise.allSettled([api("/v1/audit/verify"), api("/v1/audit/checkpoints"), api("/v1/audit/tree-head")]);
  if (!signedIn()) return;
  if (verify.status === "fulfilled") {
    const report = verify.value;
    const status = report.status;
    $("verify").dataset.status = status === "intact" ? "intact" : "broken";
    document.body.dataset.verify = status;
    badge.textContent = status === "intact" ? `Log intact: ${report.count} events` : `Log ${status}${report.firstBadSeq ? ` at event #${report.firstBadSeq}` : ""}`;
    $("verify-detail").textContent = status === "intact"
      ? `Hash chain recomputed, head ${String(report.headHash ?? "").slice(0, 16)}…`
      : report.message ?? "";
  } else {
    $("verify").dataset.status = "error";
    document.body.dataset.verify = "error";
    badge.textContent = "Log not checked";
    $("verify-detail").textContent = verify.reason.message;
  }
  const list = checkpoints.status === "fulfilled" ? checkpoints.value.checkpoints ?? [] : null;
  const count = list?.length ?? (verify.status === "fulfilled" ? verify.value.checkpoints : null);
  document.body.dataset.checkpoints = count === null ? "" : String(count);
  const last = list?.at(-1);
  const lastAt = last?.at ?? (verify.status === "fulfilled" ? verify.value.lastCheckpointAt : null);
  const unsigned = verify.status === "fulfilled" ? verify.value.unsignedEvents : null;
  $("verify-checkpoints").textContent = count === null
    ? `Checkpoints not read: ${checkpoints.reason.message}`
    : count === 0 ? "No signed checkpoint yet."
    : `${count} signed checkpoint${count === 1 ? "" : "s"}, the last ${last ? `at event #${last.seq} ` : ""}on ${utcTime(lastAt)}${typeof unsigned === "number" ? `; ${unsigned} event${unsigned === 1 ? "" : "s"} after it` : ""}.`;
  if (head.status === "fulfilled") {
    const tree = head.value;
    document.body.dataset.treeSize = String(tree.size);
    $("verify-tree").textContent = `Signed tree head: ${tree.size} events from #${tree.firstSeq}, root ${String(tree.rootHash).slice(0, 16)}…, ${utcTime(tree.at)}.`;
  } else {
    document.body.dataset.treeSize = "";
    $("verify-tree").textContent = `No tree head: ${head.reason.message}`;
  }
}
