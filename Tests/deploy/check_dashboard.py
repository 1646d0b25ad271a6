#!/usr/bin/env python3
"""Checks deploy/grafana-dashboard.json against the metrics the broker really exports.

1. The file is JSON, a Grafana dashboard with a ${DS_PROMETHEUS} input that every panel
   and query uses, and unique panel ids.
2. The metric names and their labels are read from the Swift sources (every
   `Counter(label:` / `Gauge(` / `Timer(` / `Recorder(` / `FloatingPointCounter(` /
   `Meter(` with its `dimensions:`). A Timer or Recorder is a Prometheus histogram
   (`_bucket`, `_sum`, `_count`), as swift-prometheus exports it.
3. Every metric name in every panel query and template variable exists, every label
   matched or grouped by is one the metric has (or Prometheus' `job`, `instance`, `le` of
   a `_bucket`), a matched literal label value is one the code sets, and every exported
   metric appears on some panel. `up` (made by Prometheus for each target) is allowed.
4. With promtool (PROMTOOL, or promtool on PATH; Debian's `prometheus` package has it:
   `apt-get download prometheus && dpkg-deb -x prometheus_*.deb DIR` is enough), every
   query is parsed by Prometheus and evaluated on series made from the same metric
   definitions, and must return data.

Usage: python3 Tests/deploy/check_dashboard.py [deploy/grafana-dashboard.json]
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_MADE = {"up": set()}
TARGET_LABELS = {"job", "instance"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"}
AGGREGATIONS = {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values"}
KINDS = {
    "Counter": "counter",
    "FloatingPointCounter": "counter",
    "Gauge": "gauge",
    "Meter": "gauge",
    "Timer": "histogram",
    "Recorder": "histogram",
}


def exported_metrics():
    """{name: {"kind": …, "labels": {label: set of literal values (empty if computed)}}} from the Swift sources."""
    metrics = {}
    pattern = re.compile(
        r"\b(%s)\(\s*label:\s*\"([^\"]+)\"\s*(?:,\s*dimensions:\s*\[((?:[^\[\]]|\[[^\]]*\])*)\])?" % "|".join(KINDS)
    )
    for path in sorted((ROOT / "Sources").rglob("*.swift")):
        for match in pattern.finditer(path.read_text()):
            kind, name, dimensions = KINDS[match.group(1)], match.group(2), match.group(3) or ""
            entry = metrics.setdefault(name, {"kind": kind, "labels": {}, "where": set()})
            entry["where"].add(str(path.relative_to(ROOT)))
            if entry["kind"] != kind:
                raise SystemExit("FAIL: %s is both a %s and a %s" % (name, entry["kind"], kind))
            for label, value in re.findall(r"\(\s*\"([^\"]+)\"\s*,\s*([^)]*?)\s*\)", dimensions):
                values = entry["labels"].setdefault(label, set())
                literal = re.fullmatch(r"\"([^\"]*)\"", value)
                values.add(literal.group(1) if literal else None)
    return metrics


def series_names(metrics):
    """{exposed series name: (metric name, extra labels)}: histograms as _bucket/_sum/_count."""
    names = {}
    for name, entry in metrics.items():
        if entry["kind"] == "histogram":
            names[name + "_bucket"] = (name, {"le"})
            names[name + "_sum"] = (name, set())
            names[name + "_count"] = (name, set())
        else:
            names[name] = (name, set())
    return names


TOKEN = re.compile(
    r"\s*(?:(?P<string>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<duration>\[[^\]]*\])"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)|(?P<op>=~|!~|!=|==|>=|<=|[-+*/%^(){},=<>]))"
)


def tokens(expr):
    position, out = 0, []
    expr = expr.strip()
    while position < len(expr):
        match = TOKEN.match(expr, position)
        if not match or match.end() == position:
            raise ValueError("cannot read %r at %d" % (expr, position))
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        position = match.end()
    return out


def analyse(expr):
    """Metric names with their matchers, and the labels of by/without/on/ignoring clauses."""
    toks = tokens(expr)
    depth = {"(": 0, "{": 0}
    for kind, text in toks:
        if kind == "op" and text in "(){}":
            opening = {")": "(", "}": "{"}.get(text, text)
            depth[opening] += 1 if text == opening else -1
            if depth[opening] < 0:
                raise ValueError("unbalanced %s" % text)
    if any(depth.values()):
        raise ValueError("unclosed %s" % " ".join(k for k, v in depth.items() if v))
    selectors, grouping = [], set()
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        following = toks[i + 1] if i + 1 < len(toks) else (None, None)
        if kind == "ident" and text in KEYWORDS | {"group_left", "group_right"} and following == ("op", "("):
            j = i + 2
            while toks[j] != ("op", ")"):
                if toks[j][0] == "ident":
                    grouping.add(toks[j][1])
                j += 1
            i = j + 1
            continue
        if kind == "ident" and (following == ("op", "(") or (text in AGGREGATIONS and following in (("ident", "by"), ("ident", "without")))):
            i += 1  # a function or aggregation
            continue
        if kind == "ident" and text.lower() not in KEYWORDS:
            matchers = []
            i += 1
            if i < len(toks) and toks[i] == ("op", "{"):
                i += 1
                while toks[i] != ("op", "}"):
                    if toks[i] == ("op", ","):
                        i += 1
                        continue
                    label, op, value = toks[i][1], toks[i + 1][1], toks[i + 2][1]
                    matchers.append((label, op, json.loads(value) if value.startswith('"') else value[1:-1]))
                    i += 3
                i += 1
            selectors.append((text, matchers))
            continue
        i += 1
    return selectors, grouping


def queries(dashboard):
    """(where, PromQL expression) of every panel target and template variable."""
    found = []

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append(("panel %d %r %s" % (panel["id"], panel.get("title"), target.get("refId")), target["expr"]))
            walk(panel.get("panels", []))

    walk(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if variable.get("type") == "query" and query:
            m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", query)
            if m:
                found.append(("variable $%s" % variable["name"], m.group(1)))
                found.append(("variable $%s label" % variable["name"], "sum by (%s) (%s)" % (m.group(2), m.group(1))))
            else:
                found.append(("variable $%s" % variable["name"], query))
    return found


def grafana_free(expr):
    """The expression as Prometheus sees it for a dashboard with every variable on All."""
    expr = expr.replace("$__rate_interval", "2m").replace("$__range", "10m").replace("$__interval", "1m")
    return re.sub(r"\$\{?[A-Za-z_]\w*\}?", ".*", expr)


def check_structure(dashboard, failures):
    inputs = [i.get("name") for i in dashboard.get("__inputs", [])]
    if "DS_PROMETHEUS" not in inputs:
        failures.append("no DS_PROMETHEUS in __inputs")
    if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < 36:
        failures.append("schemaVersion %r (want 36 or later)" % dashboard.get("schemaVersion"))
    ids = []

    def walk(panels):
        for panel in panels:
            ids.append(panel.get("id"))
            if panel.get("type") != "row":
                if panel.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                    failures.append("panel %r does not use ${DS_PROMETHEUS}" % panel.get("title"))
                if not panel.get("targets"):
                    failures.append("panel %r has no query" % panel.get("title"))
                for target in panel.get("targets", []):
                    if target.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                        failures.append("panel %r query %s does not use ${DS_PROMETHEUS}" % (panel.get("title"), target.get("refId")))
            walk(panel.get("panels", []))

    walk(dashboard.get("panels", []))
    if len(ids) != len(set(ids)) or None in ids:
        failures.append("panel ids are missing or repeated: %s" % ids)
    return len(ids)


def promtool_check(metrics, exprs, failures):
    """Parses and evaluates every expression with promtool on series made from the definitions."""
    promtool = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not promtool:
        return "promtool not found: queries not evaluated (set PROMTOOL)"
    series = ['up{job="tandem", instance="broker-a:8443"}: "1+0x30"']
    for name, entry in sorted(metrics.items()):
        combos = [{}]
        for label, values in sorted(entry["labels"].items()):
            combos = [dict(c, **{label: v if v is not None else "computed"}) for c in combos for v in sorted(values, key=str)]
        for labels in combos:
            labels = dict(labels, job="tandem", instance="broker-a:8443")

            def selector(metric, extra=None):
                all_labels = dict(labels, **(extra or {}))
                return "%s{%s}" % (metric, ", ".join('%s="%s"' % kv for kv in sorted(all_labels.items())))

            if entry["kind"] == "histogram":
                # "20.0" as swift-prometheus writes a Duration bucket: the queue's 20 s target.
                for n, le in enumerate(["0.001", "0.01", "0.1", "1", "20.0", "+Inf"]):
                    series.append('%s: "0+%dx30"' % (selector(name + "_bucket", {"le": le}), n + 1))
                series.append('%s: "0+0.5x30"' % selector(name + "_sum"))
                series.append('%s: "0+5x30"' % selector(name + "_count"))
            elif entry["kind"] == "counter":
                series.append('%s: "0+3x30"' % selector(name))
            else:
                series.append('%s: "2+0x30"' % selector(name))
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for where, expr in exprs:
            prom_expr = grafana_free(expr)
            test = Path(directory) / "test.yml"
            lines = ["tests:", "- interval: 1m", "  input_series:"]
            lines += ["  - series: '%s'\n    values: %s" % tuple(s.split(": ", 1)) for s in series]
            lines += ["  promql_expr_test:", "  - expr: %s" % json.dumps(prom_expr), "    eval_time: 20m", "    exp_samples: []"]
            test.write_text("\n".join(lines) + "\n")
            run = subprocess.run([promtool, "test", "rules", str(test)], capture_output=True, text=True)
            output = run.stdout + run.stderr
            if run.returncode == 0:
                failures.append("%s: no data from %s" % (where, prom_expr))
            elif "got:" not in output or re.search(r"got:\s*(nil|\[\])?\s*$", output.strip()):
                failures.append("%s: promtool: %s" % (where, output.strip().splitlines()[-1] if output.strip() else run.returncode))
            else:
                results.append(where)
    return "promtool (%s): %d queries parsed and return data" % (promtool, len(results))


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "deploy" / "grafana-dashboard.json"
    try:
        dashboard = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        sys.exit("FAIL: %s is not JSON: %s" % (path, error))
    failures = []
    panel_count = check_structure(dashboard, failures)

    metrics = exported_metrics()
    if not metrics:
        sys.exit("FAIL: no metric definitions found under Sources/")
    exposed = series_names(metrics)
    used = set()
    exprs = queries(dashboard)
    for where, expr in exprs:
        try:
            selectors, grouping = analyse(grafana_free(expr))
        except (ValueError, IndexError) as error:
            failures.append("%s: cannot read %r: %s" % (where, expr, error))
            continue
        available = set(TARGET_LABELS)
        for name, matchers in selectors:
            if name in PROMETHEUS_MADE:
                labels, extra = {}, set()
            elif name in exposed:
                base, extra = exposed[name]
                used.add(base)
                labels = metrics[base]["labels"]
            else:
                failures.append("%s: %s is not a metric the broker exports" % (where, name))
                continue
            available |= set(labels) | extra
            for label, op, value in matchers:
                if label not in labels and label not in TARGET_LABELS | extra:
                    failures.append("%s: %s has no label %s" % (where, name, label))
                elif op == "=" and label in labels and None not in labels[label] and value not in labels[label]:
                    failures.append("%s: %s{%s} is never %r (the code sets %s)" % (where, name, label, value, sorted(labels[label])))
        for label in grouping - available:
            failures.append("%s: groups by %s, a label none of its metrics has" % (where, label))
    for name in sorted(set(metrics) - used):
        failures.append("metric %s (%s) is on no panel" % (name, ", ".join(sorted(metrics[name]["where"]))))

    promtool_note = promtool_check(metrics, exprs, failures) if not failures else "promtool skipped (failures above)"

    if failures:
        print("FAIL: %s" % path)
        for failure in failures:
            print("  - " + failure)
        sys.exit(1)
    print("OK: %s: %d panels, %d queries; every metric name and label exists" % (path.relative_to(ROOT) if path.is_relative_to(ROOT) else path, panel_count, len(exprs)))
    for name in sorted(metrics):
        entry = metrics[name]
        labels = ", ".join("%s=%s" % (k, "|".join(sorted(v - {None})) or "…") for k, v in sorted(entry["labels"].items()))
        print("  %-32s %-9s %s" % (name, entry["kind"], labels))
    print(promtool_note)


if __name__ == "__main__":
    main()
