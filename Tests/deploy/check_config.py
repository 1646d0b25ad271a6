#!/usr/bin/env python3
"""Checks deploy/tandem.toml against `tandem serve`'s options.

- every option of `tandem serve` (read from the Swift sources: Serve and its option
  groups; not --config and --print-config themselves) is a key, named after the option
  with "-" as "_", in exactly one table, and there is no other key;
- when the parser is there (ServeConfigFile's `Entry(table: …, key: …)` list under
  Sources/TandemCLI), each key is in the table the parser expects, with its kind;
- the file, with its commented keys uncommented, is valid TOML, and each example value
  has the option's type (integer, float, string, array of strings, boolean for flags);
- the mapping table in the header comment agrees with where each key is;
- with a tandem binary (TANDEM_BIN, or .build/release/tandem when it exists), each
  shown value equals the binary's default from --experimental-dump-help, except keys
  shown with an example value (EXAMPLES below).

Usage: python3 Tests/deploy/check_config.py [deploy/tandem.toml]
"""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from swift_options import ROOT, command_options  # noqa: E402

# Options without a default, shown with an example value instead.
EXAMPLES = {"public-url", "cert", "key", "database", "broker-id", "webhook", "webhook-secret-file", "otel-endpoint", "audit-anchor-file"}
# Options about the file itself, not in it.
META = {"config", "print-config"}
ENTRY = re.compile(r'Entry\(\s*table:\s*"([a-z_]+)"\s*,\s*key:\s*"([a-z0-9_]+)"\s*,\s*kind:\s*\.(\w+)')


def parser_entries():
    """{key: (table, kind)} from the config parser's entry list, or None when there is no parser."""
    entries = {}
    for path in sorted((ROOT / "Sources" / "TandemCLI").glob("*.swift")):
        for table, key, kind in ENTRY.findall(path.read_text()):
            entries[key] = (table, kind)
    return entries or None
KEY_LINE = re.compile(r"^#\s?([a-z][a-z0-9_]*)\s*=\s*(.*)$")


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "deploy" / "tandem.toml"
    text = path.read_text()
    failures = []

    # 1. Valid TOML as shipped, and with every commented key uncommented.
    tomllib.loads(text)
    uncommented = "\n".join(KEY_LINE.sub(r"\1 = \2", line) for line in text.splitlines())
    try:
        config = tomllib.loads(uncommented)
    except tomllib.TOMLDecodeError as error:
        sys.exit("FAIL: %s with its keys uncommented is not valid TOML: %s" % (path, error))

    options = {name: value for name, value in command_options().items() if name not in META}
    parser = parser_entries()
    expected = {name.replace("-", "_"): (name, kind, swift_type) for name, (kind, swift_type) in options.items()}
    where = {}
    for table, keys in config.items():
        if parser and table not in {t for t, _ in parser.values()}:
            failures.append("table [%s] is not one the parser knows" % table)
        if not isinstance(keys, dict):
            failures.append("top-level key %s outside a table" % table)
            continue
        for key in keys:
            if key in where:
                failures.append("%s is in [%s] and [%s]" % (key, where[key], table))
            where[key] = table
    for key in sorted(set(expected) - set(where)):
        failures.append("option --%s has no key %s" % (expected[key][0], key))
    for key in sorted(set(where) - set(expected)):
        failures.append("key [%s] %s is no `tandem serve` option" % (where[key], key))
    if parser:
        for key in sorted(set(parser) - set(expected)):
            failures.append("the parser has a key %s that is no `tandem serve` option" % key)
        for key in sorted(set(expected) - set(parser)):
            failures.append("the parser has no key for --%s" % expected[key][0])
        for key, table in sorted(where.items()):
            if key in parser and parser[key][0] != table:
                failures.append("%s is in [%s]; the parser reads it from [%s]" % (key, table, parser[key][0]))

    # 2. Types.
    for key, table in where.items():
        if key not in expected:
            continue
        value = config[table][key]
        _, kind, swift_type = expected[key]
        base = (swift_type or "").rstrip("?")
        want = {
            "Int": int,
            # Seconds on the command line, with or without a unit (Sources/TandemCLI/DurationArgument.swift).
            "DurationArgument": int,
            "Double": float,
            "String": str,
            "[String]": list,
        }.get(base, bool if kind == "Flag" else None)
        parser_kind = parser[key][1] if parser and key in parser else None
        wanted_by_parser = {"integer": int, "number": float, "string": str, "strings": list, "flag": bool}.get(parser_kind, want)
        if parser_kind and wanted_by_parser is not want:
            failures.append("%s: the parser reads a %s, the option is a Swift %s" % (key, parser_kind, swift_type or kind))
        if want is None:
            failures.append("%s: unknown Swift type %r" % (key, swift_type))
        elif type(value) is not want or (want is list and not all(isinstance(v, str) for v in value)):
            failures.append("[%s] %s = %r is not a %s (Swift %s)" % (table, key, value, want.__name__, swift_type or kind))

    # 3. The header's mapping table.
    mapping = re.findall(r"^#\s+--([a-z0-9-]+)(?:\s+\([^)]*\))?\s+\[([a-z_]+)\]\s+([a-z0-9_]+)", text, re.M)
    mapped = {}
    for flag, table, key in mapping:
        mapped[flag] = (table, key)
        if key != flag.replace("-", "_"):
            failures.append("header maps --%s to %s" % (flag, key))
        elif where.get(key) != table:
            failures.append("header puts %s in [%s], the file in [%s]" % (key, table, where.get(key)))
    for name in sorted(set(options) - set(mapped)):
        failures.append("header does not list --%s" % name)

    # 4. Defaults, when a binary is at hand.
    binary = os.environ.get("TANDEM_BIN") or next(
        (str(p) for p in [ROOT / ".build" / "release" / "tandem", ROOT / ".build" / "debug" / "tandem"] if p.exists()), None
    )
    checked_defaults = 0
    if binary:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
        dump = json.loads(subprocess.run([binary, "--experimental-dump-help"], capture_output=True, check=True, env=env).stdout)
        serve = next(c for c in dump["command"]["subcommands"] if c["commandName"] == "serve")
        binary_options = {a["preferredName"]["name"]: a for a in serve["arguments"] if a.get("preferredName", {}).get("kind") == "long"}
        for name in ("help", *META):
            binary_options.pop(name, None)
        if set(binary_options) != set(options):
            # An old build: its defaults say nothing about these sources.
            print("WARNING: %s is not built from these sources (options differ: %s); defaults unchecked"
                  % (binary, ", ".join(sorted(set(binary_options) ^ set(options)))))
            binary_options, binary = {}, None
        for name, argument in binary_options.items():
            key = name.replace("-", "_")
            if name in EXAMPLES or key not in where:
                continue
            value = config[where[key]][key]
            default = argument.get("defaultValue")
            if argument["kind"] == "flag":
                ok = value is False
            elif isinstance(value, list):
                ok = value == [] and default in (None, "[]", "")
            elif default is None:
                ok = name == "max-overlay-bytes" and value == 2 << 20  # "2 MiB, or less with a small control message size"
            elif isinstance(value, float):
                ok = float(default) == value
            else:
                ok = str(value) == default
            checked_defaults += 1
            if not ok:
                failures.append("[%s] %s = %r but the binary's default is %r" % (where[key], key, value, default))

    if failures:
        print("FAIL: %s" % path)
        for failure in failures:
            print("  - " + failure)
        sys.exit(1)
    print(
        "OK: %s: %d options of `tandem serve` in %d tables, types match%s%s"
        % (
            path.relative_to(ROOT) if path.is_relative_to(ROOT) else path,
            len(options),
            len(config),
            ", tables and kinds match the parser's entries" if parser else " (no config parser in Sources/TandemCLI: tables unchecked)",
            ", defaults match %s (%d checked)" % (binary, checked_defaults) if binary else " (no binary: defaults unchecked; set TANDEM_BIN)",
        )
    )


if __name__ == "__main__":
    main()
