#!/usr/bin/env python3
"""Verifies a Tandem evidence bundle (format tandem-evidence/1) offline, with no broker.

Implements protocol/README.md §11.9 "Evidence bundles": the event hash chain of §11.2, the
checkpoint key of §11.3 and the Merkle tree (RFC 9162) of §11.8. Independent of the Swift
code; Python 3.11 standard library plus `cryptography` (pip install cryptography).

    python3 protocol/verify_bundle.py FILE [--key PEM]   # prints "ok CHECK …" per check
    python3 protocol/verify_bundle.py --self-test        # vectors in protocol/vectors

Exit status 0 when every check holds; 1 at the first one that does not, printed as
"FAILED CHECK: REASON"; 2 when FILE is not a bundle at all (not a ZIP, no JSON manifest.json).
"""
import base64
import glob
import hashlib
import json
import os
import sys
import unicodedata
import zipfile
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "tandem-evidence/1"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Problem(Exception):
    """Why the check under way fails."""


class NotABundle(Exception):
    """Exit status 2."""


def need(condition, reason):
    if not condition:
        raise Problem(reason)


def field(obj, key, kind, where):
    """obj[key] if it is of type `kind` (a bool is no int)."""
    value = obj.get(key) if isinstance(obj, dict) else None
    need(isinstance(value, kind) and (kind is bool or not isinstance(value, bool)),
         f"{where}: {key} is missing or not {getattr(kind, '__name__', 'valid')}")
    return value


def millis(obj, where):
    """`atMs`, or else the RFC 3339 `at` in epoch milliseconds (rounded, like the broker)."""
    if "atMs" in obj:
        return field(obj, "atMs", int, where)
    text = field(obj, "at", str, where)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(f"{where}: at {text!r} is not an RFC 3339 time")
    need(at.tzinfo is not None, f"{where}: at {text!r} has no time zone")
    return ((at - EPOCH) // timedelta(microseconds=1) + 500) // 1000


def unb64(text, what):
    need(isinstance(text, str), f"{what} is missing")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise Problem(f"{what} is not base64")


def hex32(text, what):
    need(isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdef" for c in text),
         f"{what} is not 64 lower-case hex digits")
    return bytes.fromhex(text)


def sha256(data):
    return hashlib.sha256(data).digest()


def fingerprint(raw):
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def unique_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice")
    return dict(pairs)


# §11.2: the chain hash ---------------------------------------------------------------------

# The broker escapes per Swift Character (grapheme cluster): a CRLF is one Character, not a
# newline, and `=` followed by a combining mark (or after a prepended concatenation mark) is
# not `=`. These two sets approximate UAX #29 for exactly those cases.
PREPEND = set("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd")


def extends(ch):
    return (unicodedata.category(ch) in ("Mn", "Me", "Mc") or ch in "\u200c\u200d"
            or "\U0001f3fb" <= ch <= "\U0001f3ff" or "\U000e0020" <= ch <= "\U000e007f")


def escape(text):
    """`%`, `&`, `=` and newline as %25, %26, %3D, %0A."""
    out = []
    for i, ch in enumerate(text):
        joined = (i + 1 < len(text) and extends(text[i + 1])) or (i > 0 and text[i - 1] in PREPEND)
        if ch == "\n" and not (i > 0 and text[i - 1] == "\r"):
            out.append("%0A")
        elif ch in "%&=" and not joined:
            out.append({"%": "%25", "&": "%26", "=": "%3D"}[ch])
        else:
            out.append(ch)
    return "".join(out)


def canonical(seq, at_ms, session_id, kind, actor, detail, previous_hash):
    # Swift's String `<` orders by the Unicode scalars of the canonically composed form.
    ordered = sorted(detail.items(), key=lambda pair: unicodedata.normalize("NFC", pair[0]))
    pairs = "&".join(escape(k) + "=" + escape(v) for k, v in ordered)
    return "\n".join([str(seq), str(at_ms), session_id or "", kind, actor or "", pairs, previous_hash])


def chain_hash(event, where):
    """hex SHA-256 of the event's canonical form, recomputed from its fields."""
    detail = field(event, "detail", dict, where)
    need(all(isinstance(v, str) for v in detail.values()), f"{where}: a detail value is not a string")
    optional = (str, type(None))
    text = canonical(field(event, "seq", int, where), millis(event, where), field(event, "sessionId", optional, where),
                     field(event, "kind", str, where), field(event, "actor", optional, where), detail,
                     field(event, "previousHash", str, where))
    try:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        raise Problem(f"{where}: text that is not valid Unicode")


# §11.8: RFC 9162 §2.1.3.2 ------------------------------------------------------------------

def root_from_inclusion(index, size, leaf_data, path):
    """The root that `path` (leaf to root) gives for leaf `index` of a tree of `size`, or None."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, sha256(b"\x00" + leaf_data)
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


# §11.9: the checks, in order ----------------------------------------------------------------

def raw_key_of_pem(data, what):
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise Problem(f"{what} is not a PEM public key")
    need(isinstance(key, Ed25519PublicKey), f"{what} is not an Ed25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Verifier:
    CHECKS = ["format", "key", "signature", "files", "events", "completeness", "recording"]

    def __init__(self, path, key_path=None):
        try:
            self.zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as error:
            raise NotABundle(f"{path} is not a ZIP file ({error})")
        self.names = [i.filename for i in self.zip.infolist() if not i.is_dir()]
        if "manifest.json" not in self.names:
            raise NotABundle("no manifest.json: not an evidence bundle")
        try:
            self.manifest = json.loads(self.zip.read("manifest.json"), object_pairs_hook=unique_keys)
        except Exception as error:  # not JSON, or an unreadable entry
            raise NotABundle(f"manifest.json is not JSON ({error})")
        if not isinstance(self.manifest, dict):
            raise NotABundle("manifest.json is not a JSON object")
        self.key_path, self.digests = key_path, {}

    def read(self, name):
        need(name in self.names, f"{name} is missing")
        try:
            return self.zip.read(name)
        except Exception as error:  # CRC mismatch, bad compression, encryption
            raise Problem(f"{name} cannot be read ({error})")

    def digest(self, name):
        """(sha256 hex, length) of an entry, read in pieces (a recording can be large)."""
        if name not in self.digests:
            need(name in self.names, f"{name} is missing")
            h, size = hashlib.sha256(), 0
            try:
                with self.zip.open(name) as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
                        size += len(chunk)
            except Exception as error:
                raise Problem(f"{name} cannot be read ({error})")
            self.digests[name] = (h.hexdigest(), size)
        return self.digests[name]

    def format(self):
        said = self.manifest.get("format")
        need(said == FORMAT, f"the manifest says {said!r}, not {FORMAT!r}")
        need(len(set(self.names)) == len(self.names), "the ZIP has two entries with the same name")
        return "ok format"

    def key(self):
        m = self.manifest
        self.raw = raw = unb64(m.get("publicKey"), "the manifest's publicKey")
        need(len(raw) == 32, "the manifest's publicKey is not a raw 32-byte Ed25519 key")
        if self.key_path is not None:
            try:
                with open(self.key_path, "rb") as f:
                    given = raw_key_of_pem(f.read(), self.key_path)
            except OSError as error:
                raise Problem(f"cannot read {self.key_path} ({error.strerror})")
            need(given == raw, f"the bundle is by {fingerprint(raw)}, not by the key given ({fingerprint(given)})")
        pem = raw_key_of_pem(self.read("public-key.pem"), "public-key.pem")
        need(pem == raw, f"public-key.pem is {fingerprint(pem)}, the manifest's key {fingerprint(raw)}")
        self.head = field(m, "treeHead", dict, "manifest")
        need(unb64(self.head.get("publicKey"), "the tree head's publicKey") == raw, "the tree head's key is another one")
        need(m.get("fingerprint", fingerprint(raw)) == fingerprint(raw), f"the manifest's fingerprint is not {fingerprint(raw)}")
        return f"ok key (fingerprint {fingerprint(raw)})"

    def signature(self):
        m, head = self.manifest, self.head
        self.first_seq = field(head, "firstSeq", int, "treeHead")
        self.size = field(head, "size", int, "treeHead")
        self.root = field(head, "rootHash", str, "treeHead")
        tree_text = ["tandem-tree-head/1", self.first_seq, self.size, self.root, millis(head, "treeHead")]
        self.rec = m.get("recording")
        need(self.rec is None or isinstance(self.rec, dict), "the manifest's recording is not null or an object")
        statement = [FORMAT, field(m, "sessionId", str, "manifest"), field(m, "ticket", (str, type(None)), "manifest") or "",
                     field(m, "createdAtMs", int, "manifest"), field(m, "eventCount", int, "manifest"),
                     field(m, "lastSeq", int, "manifest"), self.first_seq, self.size, self.root,
                     "", "" if self.rec is None else field(self.rec, "sha256", str, "recording")]
        listed = m.get("files")
        need(isinstance(listed, list) and all(isinstance(f, dict) for f in listed), "the manifest's files is not a list of objects")
        # The SHA-256 of events.json as the manifest lists it (the files check compares it with the file).
        statement[9] = next((f.get("sha256", "") for f in listed if f.get("name") == "events.json"), "")
        statement += [f"{field(f, 'name', str, 'file')} {field(f, 'sha256', str, 'file')} {field(f, 'bytes', int, 'file')}" for f in listed]
        key = Ed25519PublicKey.from_public_bytes(self.raw)
        for lines, signature, whose in [(tree_text, head.get("signature"), "the tree head's"),
                                        (statement, m.get("signature"), "the manifest's")]:
            try:
                key.verify(unb64(signature, f"{whose} signature"), "\n".join(map(str, lines)).encode("utf-8"))
            except InvalidSignature:
                raise Problem(f"{whose} signature is not valid for this key")
        return "ok signature"

    def files(self):
        listed = set()
        for entry in field(self.manifest, "files", list, "manifest"):
            name = field(entry, "name", str, "a files entry")
            need(name not in listed, f"{name} is listed twice")
            listed.add(name)
            digest, length = self.digest(name)
            need(field(entry, "sha256", str, name) == digest, f"{name} has SHA-256 {digest}, not the manifest's")
            need(field(entry, "bytes", int, name) == length, f"{name} has {length} bytes, not {entry['bytes']}")
        for name in self.names:
            need(name == "manifest.json" or name in listed, f"{name} is in the ZIP but not in the manifest")
        for name in ("events.json", "public-key.pem", "summary.html"):
            need(name in listed, f"{name} is missing")
        return "ok files"

    def events(self):
        try:
            self.event_list = events = json.loads(self.read("events.json"), object_pairs_hook=unique_keys)["events"]
        except (ValueError, TypeError, KeyError):
            events = None
        need(isinstance(events, list), 'events.json is not {"events":[…]}')
        root, previous = hex32(self.root, "the tree head's rootHash"), None
        for number, event in enumerate(events, 1):
            seq = field(event, "seq", int, f"event {number}")
            where = f"event #{seq}"
            need(chain_hash(event, where) == field(event, "hash", str, where), f"{where}: its fields do not give its hash")
            session = event.get("sessionId")
            need(session == self.manifest["sessionId"], f"{where} is of session {session!r}")
            index = field(event, "leafIndex", int, where)
            need(index == seq - self.first_seq, f"{where}: leafIndex {index}, not seq − firstSeq ({seq - self.first_seq})")
            path = [hex32(p, f"{where}: a path hash") for p in field(event, "path", list, where)]
            need(root_from_inclusion(index, self.size, hex32(event["hash"], where), path) == root,
                 f"{where}: its path does not lead to the tree head's root")
            need(previous is None or seq > previous, f"{where} comes after #{previous}: the seqs do not rise")
            previous = seq
        return f"ok events ({len(events)}, each proven in the tree of {self.size})"

    def completeness(self):
        events, m = self.event_list, self.manifest
        need(events, "the bundle has no events")
        numbers = [e["detail"].get("sessionSeq") for e in events]
        legacy = next((i for i, n in enumerate(numbers) if n is not None), len(numbers))
        need(legacy == 0, f"not provable for events logged before sessionSeq existed "
                          f"({legacy} of them, seq {events[0]['seq']}–{events[legacy - 1]['seq']})")
        for n, (event, number) in enumerate(zip(events, numbers), 1):
            need(number is not None, f"event #{event['seq']} has no sessionSeq")
            need(number == str(n), f"event #{event['seq']} has sessionSeq {number}, not {n}: an event is left out")
        need(len(events) == m["eventCount"], f"{len(events)} events, but eventCount is {m['eventCount']}")
        need(events[-1]["seq"] == m["lastSeq"], f"the last event is #{events[-1]['seq']}, but lastSeq is {m['lastSeq']}")
        need(m["lastSeq"] < self.first_seq + self.size, f"lastSeq {m['lastSeq']} is not below firstSeq + size")
        return f"ok completeness (sessionSeq 1-{len(events)})"

    def recording(self):
        closed = [e for e in self.event_list if e["kind"] == "recording.closed"]
        if self.rec is None:
            need(not closed, "the session was recorded but the manifest says it was not")
            return "ok recording: none"
        need(closed, "the manifest names a recording, but the session has no recording.closed event")
        rec, logged, seq = self.rec, closed[-1]["detail"], closed[-1]["seq"]
        name, length = field(rec, "name", str, "recording"), field(rec, "bytes", int, "recording")
        need(rec["sha256"] == logged.get("sha256"), f"the manifest's SHA-256 is not the one event #{seq} logged")
        need(str(length) == logged.get("bytes"), f"{length} bytes, but event #{seq} logged {logged.get('bytes')}")
        if not field(rec, "included", bool, "recording"):
            need(name not in self.names, f"the manifest says it is left out, but {name} is in the ZIP")
            return "ok recording: left out of the bundle"
        need(name.startswith("recording/"), f"{name} is not under recording/")
        actual = self.digest(name)
        need(actual == (rec["sha256"], length), f"{name} does not have the manifest's SHA-256 and length")
        return f"ok recording ({name}, {length} bytes, SHA-256 as logged by event #{seq})"

    def run(self):
        for check in self.CHECKS:
            try:
                print(getattr(self, check)())
            except Problem as problem:
                print(f"FAILED {check}: {problem}")
                return 1
        return 0


def self_test():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")
    with open(os.path.join(here, "merkle.json")) as f:
        merkle = json.load(f)
    data = [bytes.fromhex(d) for d in merkle["leafData"]]
    assert [sha256(b"\x00" + d).hex() for d in data] == merkle["leafHashes"]
    roots = {r["size"]: bytes.fromhex(r["root"]) for r in merkle["roots"]}
    for v in merkle["inclusion"]:
        path, index, size = [bytes.fromhex(p) for p in v["proof"]], v["index"], v["size"]
        assert root_from_inclusion(index, size, data[index], path) == roots[size], v
        assert root_from_inclusion(index, size, sha256(b"another leaf"), path) != roots[size], v
        assert root_from_inclusion(index, size, data[index], path + [bytes(32)]) is None, v
        assert root_from_inclusion(size, size, data[index], path) is None, v
    # §11.2 by hand: escapes, keys sorted, no session or actor; a CRLF stays, `=` + U+0301 too.
    text = canonical(7, 1795341900123, None, "session.ended", None,
                     {"note": "a=b&c%\nd\r\ne=\u0301", "chatMessages": "3"}, "0" * 64)
    assert text == "7\n1795341900123\n\nsession.ended\n\nchatMessages=3&note=a%3Db%26c%25%0Ad\r\ne=\u0301\n" + "0" * 64
    # Audit events with their hashes, in any vector file that has some.
    events = 0
    for name in sorted(glob.glob(os.path.join(here, "*.json"))):
        with open(name, encoding="utf-8") as f:
            stack = [json.load(f)]
        while stack:
            node = stack.pop()
            if isinstance(node, dict) and {"seq", "kind", "detail", "previousHash", "hash"} <= node.keys():
                assert chain_hash(node, name) == node["hash"], (name, node["seq"])
                events += 1
            elif isinstance(node, (dict, list)):
                stack.extend(node.values() if isinstance(node, dict) else node)
    print(f"self-test ok: {len(merkle['inclusion'])} inclusion proofs (merkle.json), {events} event hashes, canonical form")
    return 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    args, key_path = list(argv), None
    if "--key" in args:
        i = args.index("--key")
        key_path = args[i + 1] if i + 1 < len(args) else None
        del args[i:i + 2]
        if key_path is None:
            args = []
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: verify_bundle.py FILE [--key PEM] | --self-test", file=sys.stderr)
        return 2
    try:
        return Verifier(args[0], key_path).run()
    except NotABundle as error:
        print(f"FAILED format: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
