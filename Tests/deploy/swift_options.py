"""Reads `tandem serve`'s options from the Swift sources (no build needed).

Finds Serve's @Option/@Flag properties and those of the ParsableArguments it includes
with @OptionGroup, and names them as swift-argument-parser does (camelCase to
kebab-case, `.customLong("…")` as written).
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "Sources" / "TandemCLI"


def _skip_parens(text, start):
    """Index just past the parenthesised group opening at text[start] == '(' (string literals skipped)."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == '"':
            if text.startswith('"""', i):
                i = text.index('"""', i + 3) + 3
                continue
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced parentheses")


def kebab(name):
    """swift-argument-parser's default long name: publicURL -> public-url, codeTTL -> code-ttl."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|\b)|[A-Z]?[a-z]+|[A-Z]+|[0-9]+", name)
    return "-".join(w.lower() for w in words)


def properties(text):
    """(kind, property, long name, type) of every @Option/@Flag/@OptionGroup in text."""
    found = []
    for match in re.finditer(r"@(Option|Flag|OptionGroup)\b", text):
        i = match.end()
        args = ""
        if i < len(text) and text[i] == "(":
            end = _skip_parens(text, i)
            args, i = text[i:end], end
        var = re.match(r"\s*var\s+(\w+)\s*(?::\s*([\w\[\]?]+))?", text[i:])
        if not var:
            continue
        custom = re.search(r'\.customLong\("([^"]+)"\)', args)
        long_name = custom.group(1) if custom else kebab(var.group(1))
        found.append((match.group(1), var.group(1), long_name, var.group(2)))
    return found


def _struct_source(name):
    for path in sorted(CLI.glob("*.swift")):
        text = path.read_text()
        m = re.search(r"struct\s+%s\s*:[^{]*\{" % re.escape(name), text)
        if m:
            # The struct's body: from its brace to the matching one (good enough: no braces in strings here).
            depth, i = 0, m.end() - 1
            while True:
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                if depth == 0:
                    return text[m.start() : i + 1]
                i += 1
    raise LookupError("struct %s not found under %s" % (name, CLI))


def command_options(struct="Serve"):
    """{long name: (kind, swift type)} of a command with its option groups, recursively."""
    options = {}
    for kind, prop, long_name, swift_type in properties(_struct_source(struct)):
        if kind == "OptionGroup":
            options.update(command_options(swift_type))
        else:
            options[long_name] = (kind, swift_type)
    return options


if __name__ == "__main__":
    for name, (kind, swift_type) in sorted(command_options().items()):
        print("--%-32s %-5s %s" % (name, kind, swift_type))
