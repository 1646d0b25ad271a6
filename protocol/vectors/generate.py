#!/usr/bin/env python3
"""Writes frames.json, control.json, recording.json, anchors.json, merkle.json and audit.json: the Tandem v1 test vectors.

This generator is an independent implementation of protocol/README.md §4 and §5
(it does not use the Swift code), so the Swift and browser codecs are checked
against the spec rather than against themselves. Run: python3 protocol/vectors/generate.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# §4.1: the codec byte and its name. opus is audio, the others video (images included).
CODECS = {"jpeg": 1, "png": 2, "webp": 3, "h264": 4, "vp8": 5, "vp9": 6, "av1": 7, "opus": 8}


def frame(codec, keyframe, stream, seq, ts, payload, header_length=24, version=1, kind=1, flags=None, reserved=0, length=None):
    flags = (1 if keyframe else 0) if flags is None else flags
    length = len(payload) if length is None else length
    header = struct.pack(">BBBBBBHIQI", version, header_length, kind, flags, CODECS.get(codec, codec) if isinstance(codec, str) else codec,
                         reserved, stream, seq, ts, length)
    header += bytes(header_length - 24) if header_length > 24 else b""
    return header + payload


valid = [
    ("jpeg keyframe, tiny payload", "jpeg", True, 1, 0, 1_732_000_000_000_000, bytes.fromhex("ffd8ffe000104a464946")),
    ("png delta frame, stream 2", "png", False, 2, 41, 1_732_000_000_123_456, bytes.fromhex("89504e470d0a1a0a")),
    ("webp keyframe, max stream id and sequence", "webp", True, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF, b"RIFF\x00\x00\x00\x00WEBP"),
    ("h264 Annex-B access unit", "h264", True, 7, 1000, 1, bytes.fromhex("0000000167640028acd940780227e5c0") + bytes.fromhex("0000000168ebe3cb22c0")),
    ("empty payload", "jpeg", False, 1, 2, 3, b""),
    # WebCodecs chunks (§4.1). The payloads are only plausible: nobody on the wire looks inside.
    # VP8 keyframe: frame tag (key, show_frame, first partition 72 bytes), start code 9d 01 2a, 320×240.
    ("vp8 keyframe", "vp8", True, 4, 0, 1_732_000_000_000_000, bytes.fromhex("1009009d012a4001f000")),
    # VP8 interframe: bit 0 of the frame tag set.
    ("vp8 delta frame", "vp8", False, 4, 1, 1_732_000_000_033_333, bytes.fromhex("110900a0fe")),
    # VP9 keyframe: frame marker, profile 0, key frame, shown; sync code 49 83 42.
    ("vp9 keyframe", "vp9", True, 5, 0, 1_732_000_000_000_000, bytes.fromhex("824983420013f00ef6")),
    # AV1 temporal unit in the low-overhead format: a temporal delimiter OBU, then a frame OBU.
    ("av1 temporal unit, keyframe", "av1", True, 6, 0, 1_732_000_000_000_000, bytes.fromhex("1200320310c080")),
    # One 20 ms Opus packet (TOC f8: CELT fullband 20 ms, mono); every audio frame is a keyframe.
    ("opus packet, keyframe flag set", "opus", True, 7, 50, 1_732_000_001_000_000, bytes.fromhex("f8fffe")),
]

frames = {"valid": [], "extendedHeader": [], "invalid": []}
for name, codec, key, stream, seq, ts, payload in valid:
    frames["valid"].append({
        "name": name,
        "hex": frame(codec, key, stream, seq, ts, payload).hex(),
        "codec": codec, "keyframe": key, "streamId": stream, "sequence": seq,
        "timestampMicros": ts, "payloadHex": payload.hex(),
    })

# A future header with 4 extra bytes: v1 readers skip them. Re-encoding yields the 24-byte form.
ext_payload = bytes.fromhex("ffd8ffd9")
frames["extendedHeader"].append({
    "name": "header length 28 with unknown trailing header bytes",
    "hex": (frame("jpeg", True, 3, 9, 5, b"", header_length=28, length=len(ext_payload))[:24] + bytes.fromhex("deadbeef") + ext_payload).hex(),
    "canonicalHex": frame("jpeg", True, 3, 9, 5, ext_payload).hex(),
    "codec": "jpeg", "keyframe": True, "streamId": 3, "sequence": 9, "timestampMicros": 5, "payloadHex": ext_payload.hex(),
})
# Reserved flag bits are ignored by receivers and not re-sent.
frames["extendedHeader"].append({
    "name": "reserved flag bits set",
    "hex": frame("png", True, 1, 1, 1, b"\x01", flags=0xF1).hex(),
    "canonicalHex": frame("png", True, 1, 1, 1, b"\x01").hex(),
    "codec": "png", "keyframe": True, "streamId": 1, "sequence": 1, "timestampMicros": 1, "payloadHex": "01",
})

invalid = [
    ("version 2", frame("jpeg", True, 1, 1, 1, b"ab", version=2), "unsupported-frame-version"),
    ("header length 23", frame("jpeg", True, 1, 1, 1, b"ab")[:1] + bytes([23]) + frame("jpeg", True, 1, 1, 1, b"ab")[2:], "bad-header-length"),
    ("kind 2", frame("jpeg", True, 1, 1, 1, b"ab", kind=2), "unknown-frame-kind"),
    ("codec 0", frame(0, True, 1, 1, 1, b"ab"), "unknown-codec"),
    ("codec 9", frame(9, True, 1, 1, 1, b"ab"), "unknown-codec"),
    ("payload length larger than the message", frame("jpeg", True, 1, 1, 1, b"ab", length=3), "truncated-frame"),
    ("payload length smaller than the message", frame("jpeg", True, 1, 1, 1, b"abc", length=2), "payload-length-mismatch"),
    ("only 10 header bytes", frame("jpeg", True, 1, 1, 1, b"")[:10], "truncated-frame"),
]
for name, data, error in invalid:
    frames["invalid"].append({"name": name, "hex": data.hex(), "error": error})


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# §20.6: one floor.state with an entry in every list and today's figures. The day's ratios are
# computed here from the counts, as the broker computes them: the service level is answered
# within the target over answered + abandoned; csat and fcr are shares of the surveys.
by_hour = [{"answered": 0, "withinTarget": 0} for _ in range(24)]
for hour, answered, within in [(8, 5, 5), (9, 7, 6), (10, 9, 8), (11, 6, 6), (12, 3, 3), (13, 4, 3), (14, 3, 3)]:
    by_hour[hour] = {"answered": answered, "withinTarget": within}
day_answered = sum(h["answered"] for h in by_hour)
day_within = sum(h["withinTarget"] for h in by_hour)
day_abandoned, day_surveys, day_satisfied, day_solved = 3, 8, 7, 6
# Answered waits in the buckets 0–10, 10–20, 20–30, 30–60, 60–120 and over 120 s; with a 20 s
# target the first two are the answers within it.
day_waits = [22, 12, 2, 1, 0, 0]
assert sum(day_waits) == day_answered and sum(day_waits[:2]) == day_within
FLOOR_STATE = {
    "type": "floor.state", "at": "2026-11-22T14:30:05Z", "targetSeconds": 20, "serviceLevelTarget": 0.8,
    "queues": [{"line": "line1", "tier": "premium", "waiting": 1, "oldestWaitSeconds": 48}],
    "waiting": [{"queueId": "q_abcdefghijkmnpqr", "kind": "customer", "ticket": "HD-2001", "tier": "premium", "line": "line1",
                 "skills": ["router"], "waitedSeconds": 48, "offeredTo": "bob"}],
    "agents": [{"name": "bob", "state": "available", "sessions": 1, "maxSessions": 2, "lines": ["line1", "line2"],
                "skills": ["router", "tv"], "since": "2026-11-22T08:00:00Z"}],
    "sessions": [{"sessionId": "s_abcdefghijkmnpqr", "ticket": "HD-1042", "agent": "bob", "tier": "standard", "line": "line2",
                  "startedAt": "2026-11-22T14:10:00Z", "customerPresent": True, "supervisors": ["carol"],
                  "helpRequested": {"note": "Customer asks for a refund", "at": "2026-11-22T14:28:00Z"}}],
    "today": {
        "answered": day_answered, "answeredWithinTarget": day_within, "abandoned": day_abandoned, "callbacks": 2,
        "serviceLevel": day_within / (day_answered + day_abandoned), "medianWaitSeconds": 8.5,
        "surveys": day_surveys, "csat": day_satisfied / day_surveys, "fcr": day_solved / day_surveys,
        "outcomes": {"resolved": 30, "unresolved": 4, "escalated": 3},
        "byHour": by_hour, "waits": day_waits,
    },
}
assert FLOOR_STATE["today"]["serviceLevel"] == 0.85

control_valid = [
    {"type": "hello", "protocol": 1, "role": "agent", "client": "tandem-cli/0.1", "token": "tdm_" + "A" * 43,
     "start": {"ticket": "HD-1042", "mode": "camera", "ttlSeconds": 600}},
    {"type": "hello", "protocol": 1, "role": "customer", "client": "browser/1", "code": "482-913-557-301"},
    {"type": "session.created", "sessionId": "s_abcdefghijkmnpqr", "ticket": "HD-1042", "mode": "camera",
     "joinCode": "482-913-557-301", "joinUrl": "https://127.0.0.1:8443/j/482913557301#k=q2Zt0d3X9vYc8Lw1RkP5_A", "expiresAt": "2026-11-22T10:10:00Z"},
    {"type": "session.joined", "sessionId": "s_abcdefghijkmnpqr", "ticket": "HD-1042", "mode": "screen", "agent": "alice"},
    {"type": "peer.joined", "role": "customer", "client": "tandem-swift/0.1"},
    {"type": "chat", "text": "Can you point the camera at the back of the router?"},
    {"type": "chat", "text": "Sure – here, see the ports? ✓", "from": "customer"},
    {"type": "session.end", "outcome": "resolved", "note": "Cable was in the WAN port"},
    {"type": "session.end"},
    {"type": "session.ended", "sessionId": "s_abcdefghijkmnpqr", "reason": "agent-ended", "outcome": "escalated"},
    {"type": "session.ended", "sessionId": "s_abcdefghijkmnpqr", "reason": "customer-left"},
    {"type": "error", "code": "no-peer", "message": "nobody has joined yet"},
    {"type": "error", "code": "other-broker", "message": "this code belongs to another broker", "redirect": "https://broker-a.example:8443"},
    {"type": "error", "code": "join-throttled", "message": "too many wrong join codes were tried from your network; try again in 32 s", "retryAfter": 32},
    {"type": "stream.start", "streamId": 1, "source": "camera", "codec": "jpeg", "width": 1280, "height": 720, "fps": 15},
    {"type": "stream.start", "streamId": 2, "source": "screen", "codec": "h264", "width": 1920, "height": 1080, "fps": 29.97, "owner": "customer"},
    {"type": "stream.stop", "streamId": 1},
    {"type": "stream.pause", "streamId": 1, "owner": "customer"},
    {"type": "stream.resume", "streamId": 1},
    {"type": "stream.control", "streamId": 1, "action": "keyframe", "origin": "broker"},
    {"type": "stream.control", "streamId": 1, "action": "quality", "fps": 5, "quality": 0.6},
    {"type": "stream.control", "streamId": 1, "action": "pause"},
    {"type": "annotation", "op": "add", "owner": "customer", "streamId": 1,
     "shape": {"id": "a1", "kind": "arrow", "color": "#ff3b30", "width": 4, "points": [[0.25, 0.5], [0.625, 0.375]]}},
    {"type": "annotation", "op": "add", "owner": "customer", "streamId": 1, "author": "agent",
     "shape": {"id": "s7", "kind": "stroke", "color": "#00aaff", "width": 2.5, "points": [[0.1, 0.1]], "author": "agent"}},
    {"type": "annotation", "op": "append", "owner": "customer", "streamId": 1, "id": "s7", "points": [[0.125, 0.15], [0.2, 0.25]]},
    {"type": "annotation", "op": "add", "owner": "customer", "streamId": 1,
     "shape": {"id": "t1", "kind": "text", "color": "#ffffff", "width": 3, "points": [[0.5, 0.5]], "text": "WAN port", "ttlMs": 30000}},
    {"type": "annotation", "op": "add", "owner": "agent", "streamId": 3,
     "shape": {"id": "p", "kind": "pointer", "color": "#ff0000", "width": 8, "points": [[0.75, 0.25]]}},
    {"type": "annotation", "op": "remove", "owner": "customer", "streamId": 1, "id": "t1"},
    {"type": "annotation", "op": "undo", "owner": "customer", "streamId": 1},
    {"type": "annotation", "op": "clear", "owner": "customer", "streamId": 1},
    {"type": "freeze", "owner": "customer", "streamId": 1, "sequence": 4711},
    {"type": "unfreeze", "owner": "customer", "streamId": 1, "author": "agent"},
    {"type": "overlay.snapshot", "owner": "customer", "streamId": 1, "frozenSequence": 4711,
     "shapes": [{"id": "r1", "kind": "rect", "color": "#34c759", "width": 4, "points": [[0.1, 0.2], [0.3, 0.4]], "author": "agent"},
                {"id": "e1", "kind": "ellipse", "color": "#34c759", "width": 4, "points": [[0.5, 0.5], [0.75, 0.625]], "author": "customer"}]},
    {"type": "overlay.snapshot", "owner": "agent", "streamId": 9, "shapes": []},
    # The rest of an overlay too large for one message (§5.10): added after the shapes before.
    {"type": "overlay.snapshot", "owner": "customer", "streamId": 1, "continued": True,
     "shapes": [{"id": "s2", "kind": "stroke", "color": "#ff3b30", "width": 4, "points": [[0, 1], [0.5, 0.25]], "author": "customer"}]},
    {"type": "consent", "granted": True, "source": "camera"},
    {"type": "consent", "granted": False},
    {"type": "hello", "protocol": 1, "role": "customer", "client": "tandem-web/1", "resume": "tdr_" + "B" * 43},
    {"type": "session.resumed", "sessionId": "s_abcdefghijkmnpqr", "role": "customer", "ticket": "HD-1042", "mode": "camera",
     "agent": "alice", "peerPresent": True, "resumeToken": "tdr_" + "C" * 43},
    {"type": "peer.away", "role": "customer", "until": "2026-11-22T10:01:00Z"},
    {"type": "peer.back", "role": "agent"},
    {"type": "hello", "protocol": 1, "role": "customer", "client": "tandem-web/1",
     "queue": {"ticket": "HD-2001", "tier": "premium", "mode": "camera", "line": "line1"}},
    {"type": "hello", "protocol": 1, "role": "agent", "token": "tdm_" + "A" * 43, "take": {"line": "line2"}},
    {"type": "queue.status", "position": 2, "line": "line1", "tier": "basic", "waitedSeconds": 14},
    # §16: with the line's history, the estimated wait.
    {"type": "queue.status", "position": 3, "line": "line2", "tier": "premium", "waitedSeconds": 40, "estimatedWaitSeconds": 270},
    {"type": "session.assigned", "sessionId": "s_abcdefghijkmnpqr", "ticket": "HD-2001", "mode": "camera", "line": "line1",
     "tier": "premium", "waitedSeconds": 8, "customerPresent": True, "resumeToken": "tdr_" + "D" * 43},
    {"type": "session.assigned", "sessionId": "s_abcdefghijkmnpqr", "ticket": "HD-1042", "mode": "camera", "line": "line2",
     "tier": "standard", "waitedSeconds": 31, "customerPresent": True, "transferredFrom": "alice", "note": "WAN port config",
     "resumeToken": "tdr_" + "E" * 43},
    {"type": "session.transfer", "line": "line2", "note": "WAN port config"},
    {"type": "session.transfer", "agent": "bob"},
    {"type": "session.transferred", "sessionId": "s_abcdefghijkmnpqr", "state": "pending", "from": "alice", "line": "line2",
     "until": "2026-11-22T10:05:00Z"},
    {"type": "session.transferred", "sessionId": "s_abcdefghijkmnpqr", "state": "completed", "from": "alice", "toAgent": "bob", "agent": "bob"},
    {"type": "hello", "protocol": 1, "role": "agent", "token": "tdm_" + "A" * 43, "watch": {"sessionId": "s_abcdefghijkmnpqr", "participate": False}},
    {"type": "session.watching", "sessionId": "s_abcdefghijkmnpqr", "ticket": "HD-1042", "mode": "camera", "agent": "alice",
     "customerPresent": True, "participate": True},
    {"type": "session.presence", "present": [{"name": "alice", "role": "agent"}, {"name": "customer", "role": "customer"},
                                             {"name": "root", "role": "supervisor", "participating": False}]},
    {"type": "chat", "from": "agent", "supervisor": "carol", "text": "Try the other cable"},
    {"type": "hello", "protocol": 1, "role": "agent", "token": "tdm_" + "A" * 43, "start": {"ticket": "HD-1042", "mode": "camera", "record": True}},
    {"type": "session.joined", "sessionId": "s_abcdefghijkmnpqr", "ticket": "HD-1042", "mode": "camera", "agent": "alice", "recording": True},
    {"type": "consent", "granted": True, "source": "camera", "recording": True},
    # From a signed help link (§16.1): the signature covers ticket, tier, line and expires.
    {"type": "hello", "protocol": 1, "role": "customer", "client": "tandem-web/1",
     "queue": {"ticket": "HD-2002", "tier": "premium", "mode": "screen", "line": "line2", "expires": 1795430000,
               "signature": "Xb3" + "A" * 40}},
    # From a join link (§3.1): the code and the link's key, 22 base64url characters.
    {"type": "hello", "protocol": 1, "role": "customer", "client": "tandem-web/1", "code": "482913557301", "key": "q2Zt0d3X9vYc8Lw1RkP5_A"},
    # WebCodecs streams (§5.9): decoderConfig carries what the receiver's decoder needs.
    {"type": "stream.start", "streamId": 4, "source": "camera", "codec": "vp8", "width": 640, "height": 480, "fps": 30,
     "decoderConfig": {"codec": "vp8"}},
    # Audio: width and height 0, fps = packets per second.
    {"type": "stream.start", "streamId": 7, "source": "microphone", "codec": "opus", "width": 0, "height": 0, "fps": 50,
     "decoderConfig": {"codec": "opus", "sampleRate": 48000, "numberOfChannels": 1}},
    # h264 frames are Annex-B, so no avcC description.
    {"type": "stream.start", "streamId": 2, "source": "screen", "codec": "h264", "width": 1920, "height": 1080, "fps": 30,
     "decoderConfig": {"codec": "avc1.42E01F"}},
    # Codec capability (§5.1): what each side decodes, told to the other side.
    {"type": "hello", "protocol": 1, "role": "customer", "client": "tandem-web/1", "code": "482913557301",
     "codecs": ["vp8", "vp9", "h264", "av1", "opus", "jpeg", "png", "webp"]},
    {"type": "session.joined", "sessionId": "s_abcdefghijkmnpqr", "ticket": "HD-1042", "mode": "camera", "agent": "alice",
     "codecs": ["vp9", "vp8", "opus", "jpeg"]},
    {"type": "peer.joined", "role": "customer", "client": "tandem-web/1", "codecs": ["h264", "jpeg", "png", "webp"]},
    {"type": "session.resumed", "sessionId": "s_abcdefghijkmnpqr", "role": "agent", "ticket": "HD-1042", "mode": "camera",
     "agent": "alice", "peerPresent": True, "resumeToken": "tdr_" + "B" * 43, "codecs": ["vp8", "opus"]},
    {"type": "session.assigned", "sessionId": "s_abcdefghijkmnpqr", "ticket": "HD-2002", "mode": "camera", "line": "line1",
     "tier": "basic", "waitedSeconds": 4, "customerPresent": True, "resumeToken": "tdr_" + "C" * 43, "codecs": ["jpeg"]},
    {"type": "session.transferred", "sessionId": "s_abcdefghijkmnpqr", "state": "completed", "from": "alice", "line": "line2",
     "agent": "bob", "codecs": ["av1", "opus"]},
    {"type": "peer.back", "role": "customer", "codecs": ["vp8", "opus", "jpeg"]},
    # A receiver's measured ceiling (§5.9).
    {"type": "stream.control", "streamId": 1, "action": "quality", "bitrate": 450000, "origin": "agent"},
    # Voice (§5.14): the agent turns it on, the customer answers for its microphone.
    {"type": "voice", "enabled": True},
    {"type": "voice", "enabled": False},
    {"type": "consent", "granted": True, "source": "microphone"},
    # Anchored annotations (§5.15): the publisher's scene tracking, per frame, and a shape anchored to the scene.
    {"type": "track", "streamId": 1, "sequence": 4712, "epoch": 1, "state": "tracking", "m": [0.96875, -0.125, 0.0625, 0.0703125, 0.96875, -0.03125]},
    {"type": "track", "owner": "customer", "streamId": 1, "sequence": 4800, "epoch": 1, "state": "lost", "m": [1, 0, 0.25, 0, 1, -0.125]},
    {"type": "annotation", "op": "add", "owner": "customer", "streamId": 1, "author": "agent",
     "shape": {"id": "a2", "kind": "arrow", "color": "#ff3b30", "width": 4, "points": [[0.375, 0.625], [0.5, 0.5]], "author": "agent",
               "anchor": {"epoch": 1, "m": [0.96875, -0.125, 0.0625, 0.0703125, 0.96875, -0.03125]}}},
    # The post-session survey (§5.16): the customer's session.ended carries the survey's token,
    # when it closes (24 h after the end; the token's expiry, 1795429200) and whether NPS is asked.
    {"type": "session.ended", "sessionId": "s_abcdefghijkmnpqr", "reason": "agent-ended", "outcome": "resolved",
     "survey": {"token": "tds_s_abcdefghijkmnpqr.1795429200.1.q2Zt0d3X9vYc8Lw1RkP5_A", "expiresAt": "2026-11-23T10:20:00Z", "nps": True}},
    {"type": "session.ended", "sessionId": "s_abcdefghijkmnpqr", "reason": "customer-left",
     "survey": {"token": "tds_s_abcdefghijkmnpqr.1795429200.0.q2Zt0d3X9vYc8Lw1RkP5_A", "expiresAt": "2026-11-23T10:20:00Z", "nps": False}},
    # Agents online (§20.1): a presence connection's hello, with every member and with the defaults left out.
    {"type": "hello", "protocol": 1, "role": "agent", "client": "tandem-cli/0.1", "token": "tdm_" + "A" * 43,
     "presence": {"state": "available", "lines": ["line1", "line2"], "skills": ["router", "tv"], "maxSessions": 2}},
    {"type": "hello", "protocol": 1, "role": "agent", "token": "tdm_" + "A" * 43, "presence": {"state": "away"}},
    # The agent changes its state; absent members keep what the broker has, an empty list clears.
    {"type": "presence.set", "state": "away"},
    {"type": "presence.set", "state": "available", "lines": ["line2"], "skills": [], "maxSessions": 3},
    # The broker's answer: the welcome of a presence connection, and after a missed offer.
    {"type": "presence.status", "name": "bob", "state": "available", "lines": ["line1", "line2"], "skills": ["router", "tv"],
     "maxSessions": 2, "sessions": 1, "transferReasons": ["hardware", "language"]},
    {"type": "presence.status", "name": "bob", "state": "away", "lines": ["line1"], "skills": [], "maxSessions": 1, "sessions": 0,
     "transferReasons": [], "reason": "missed-offer"},
    # Offers (§20.2): a waiting customer whose help link asks for a skill, and a transfer (its queue id is the session's).
    {"type": "queue.offer", "offerId": "o_abcdefghijkmnpqr", "queueId": "q_abcdefghijkmnpqr", "kind": "customer", "ticket": "HD-2001",
     "tier": "premium", "line": "line1", "mode": "camera", "skills": ["router"], "waitedSeconds": 12, "until": "2026-11-22T10:00:15Z"},
    {"type": "queue.offer", "offerId": "o_bcdefghijkmnpqrs", "queueId": "s_abcdefghijkmnpqr", "kind": "transfer", "ticket": "HD-1042",
     "tier": "standard", "line": "line2", "mode": "screen", "skills": [], "waitedSeconds": 3, "until": "2026-11-22T10:05:18Z",
     "from": "alice", "note": "WAN port config"},
    # Accepting: hello.take with the offer's id.
    {"type": "hello", "protocol": 1, "role": "agent", "client": "tandem-cli/0.1", "token": "tdm_" + "A" * 43,
     "take": {"offer": "o_abcdefghijkmnpqr"}},
    {"type": "queue.decline", "offerId": "o_abcdefghijkmnpqr"},
    {"type": "queue.withdrawn", "offerId": "o_abcdefghijkmnpqr", "reason": "customer-left"},
    {"type": "queue.withdrawn", "offerId": "o_bcdefghijkmnpqrs", "reason": "taken"},
    # A help link with skills (§20.2): the signature covers them too.
    {"type": "hello", "protocol": 1, "role": "customer", "client": "tandem-web/1",
     "queue": {"ticket": "HD-2003", "tier": "standard", "mode": "camera", "line": "line1", "expires": 1795430000,
               "signature": "Yc4" + "B" * 40, "skills": ["router", "tv"]}},
    # Callbacks (§20.4): offered after the callback wait; the customer's request; the broker's receipt.
    {"type": "queue.status", "position": 4, "line": "line1", "tier": "basic", "waitedSeconds": 305, "estimatedWaitSeconds": 480,
     "callbackOffered": True},
    {"type": "queue.callback", "message": "My router keeps dropping the Wi-Fi – please call me back after 5 pm.", "contact": "+44 20 7946 0018"},
    {"type": "queue.callback", "message": ""},
    {"type": "queue.callback-recorded", "queueId": "q_abcdefghijkmnpqr", "ticket": "HD-2001"},
    # Transfer reasons and asking a supervisor (§20.5).
    {"type": "session.transfer", "line": "line2", "note": "Customer prefers Spanish", "reason": "language"},
    {"type": "supervisor.request", "note": "Customer asks for a refund"},
    {"type": "supervisor.request"},
    # The floor (§20.6): an admin's hello, and what it receives.
    {"type": "hello", "protocol": 1, "role": "agent", "client": "tandem-web/1", "token": "tdc_" + "F" * 43, "floor": {}},
    FLOOR_STATE,
    # An empty floor before today's figures were first read: the lists are present, empty; no `today`.
    {"type": "floor.state", "at": "2026-11-22T06:00:00Z", "targetSeconds": 30, "serviceLevelTarget": 0.8,
     "queues": [], "waiting": [], "agents": [], "sessions": []},
]
control_invalid = [
    ("not JSON", "hello", "malformed-message"),
    ("JSON array", "[1,2]", "malformed-message"),
    ("no type", '{"text":"hi"}', "invalid-field"),
    ("unknown type", '{"type":"teleport"}', "unknown-type"),
    ("hello without role", '{"type":"hello","protocol":1}', "invalid-field"),
    ("unknown role", '{"type":"hello","protocol":1,"role":"spy"}', "invalid-field"),
    ("chat text not a string", '{"type":"chat","text":5}', "invalid-field"),
    ("unknown outcome", '{"type":"session.end","outcome":"fixed-ish"}', "invalid-field"),
    ("unknown shape kind", '{"type":"annotation","op":"add","owner":"agent","streamId":1,"shape":{"id":"x","kind":"star","color":"#000000","width":1,"points":[[0,0]]}}', "invalid-field"),
    ("unknown annotation op", '{"type":"annotation","op":"paint","owner":"agent","streamId":1}', "invalid-field"),
    ("stream id out of range", '{"type":"stream.stop","streamId":70000}', "invalid-field"),
    ("unknown codec name", '{"type":"stream.start","streamId":1,"source":"camera","codec":"gif","width":1,"height":1,"fps":1}', "invalid-field"),
    ("consent without answer", '{"type":"consent","source":"screen"}', "invalid-field"),
    ("peer.away without role", '{"type":"peer.away","until":"2026-11-22T10:01:00Z"}', "invalid-field"),
    ("link key not a string", '{"type":"hello","protocol":1,"role":"customer","code":"482913557301","key":7}', "invalid-field"),
    ("unknown tier", '{"type":"hello","protocol":1,"role":"customer","queue":{"ticket":"HD-1","tier":"gold","mode":"screen"}}', "invalid-field"),
    ("help link expiry not a number", '{"type":"hello","protocol":1,"role":"customer","queue":{"ticket":"HD-1","tier":"basic","mode":"screen","expires":"soon","signature":"x"}}', "invalid-field"),
    ("queue.status without position", '{"type":"queue.status","line":"line1","tier":"basic","waitedSeconds":1}', "invalid-field"),
    ("unknown transfer state", '{"type":"session.transferred","sessionId":"s_abcdefghijkmnpqr","state":"maybe","from":"alice"}', "invalid-field"),
    ("presence with an unknown role", '{"type":"session.presence","present":[{"name":"x","role":"boss"}]}', "invalid-field"),
    ("bad date", '{"type":"session.created","sessionId":"s_x","ticket":"T","mode":"screen","joinCode":"1","joinUrl":"u","expiresAt":"yesterday"}', "invalid-field"),
    # Whether codec and source go together (opus with microphone), and width 0 for audio only, is the
    # broker's check when relaying (§5.9), not the decoder's: no decode vectors for those.
    ("decoderConfig without codec", '{"type":"stream.start","streamId":7,"source":"microphone","codec":"opus","width":0,"height":0,"fps":50,"decoderConfig":{"sampleRate":48000,"numberOfChannels":1}}', "invalid-field"),
    ("decoderConfig not an object", '{"type":"stream.start","streamId":4,"source":"camera","codec":"vp8","width":640,"height":480,"fps":30,"decoderConfig":"vp8"}', "invalid-field"),
    ("unknown stream source", '{"type":"stream.start","streamId":7,"source":"speaker","codec":"opus","width":0,"height":0,"fps":50}', "invalid-field"),
    ("bitrate not an integer", '{"type":"stream.control","streamId":1,"action":"quality","bitrate":"fast"}', "invalid-field"),
    ("voice without enabled", '{"type":"voice"}', "invalid-field"),
    ("voice enabled not a boolean", '{"type":"voice","enabled":"yes"}', "invalid-field"),
    ("codecs not an array", '{"type":"hello","protocol":1,"role":"customer","code":"482913557301","codecs":"vp8"}', "invalid-field"),
    ("codec name not a string", '{"type":"peer.joined","role":"customer","codecs":[5]}', "invalid-field"),
    ("codec name too long", '{"type":"hello","protocol":1,"role":"customer","code":"482913557301","codecs":["vp8-with-a-long-name"]}', "invalid-field"),
    ("more than 16 codecs", '{"type":"hello","protocol":1,"role":"customer","code":"482913557301","codecs":[' + ",".join(['"jpeg"'] * 17) + ']}', "invalid-field"),
    ("track without m", '{"type":"track","streamId":1,"sequence":1,"epoch":1,"state":"tracking"}', "invalid-field"),
    ("unknown track state", '{"type":"track","streamId":1,"sequence":1,"epoch":1,"state":"guessing","m":[1,0,0,0,1,0]}', "invalid-field"),
    ("track m not an array of numbers", '{"type":"track","streamId":1,"sequence":1,"epoch":1,"state":"tracking","m":"identity"}', "invalid-field"),
    ("anchor without epoch", '{"type":"annotation","op":"add","owner":"customer","streamId":1,"shape":{"id":"a","kind":"arrow","color":"#000000","width":1,"points":[[0,0],[1,1]],"anchor":{"m":[1,0,0,0,1,0]}}}', "invalid-field"),
    ("unknown codec name vp10", '{"type":"stream.start","streamId":4,"source":"camera","codec":"vp10","width":640,"height":480,"fps":30}', "invalid-field"),
    ("survey without token", '{"type":"session.ended","sessionId":"s_abcdefghijkmnpqr","reason":"agent-ended","survey":{"expiresAt":"2026-11-23T10:20:00Z","nps":false}}', "invalid-field"),
    ("survey nps not a boolean", '{"type":"session.ended","sessionId":"s_abcdefghijkmnpqr","reason":"agent-ended","survey":{"token":"tds_s_abcdefghijkmnpqr.1795429200.0.q2Zt0d3X9vYc8Lw1RkP5_A","expiresAt":"2026-11-23T10:20:00Z","nps":"yes"}}', "invalid-field"),
    ("presence.set without state", '{"type":"presence.set","lines":["line1"]}', "invalid-field"),
    ("unknown presence state", '{"type":"presence.set","state":"sleeping"}', "invalid-field"),
    ("maxSessions not an integer", '{"type":"presence.set","state":"available","maxSessions":"two"}', "invalid-field"),
    ("hello presence not an object", '{"type":"hello","protocol":1,"role":"agent","token":"tdm_x","presence":"available"}', "invalid-field"),
    ("queue.offer without offerId", '{"type":"queue.offer","queueId":"q_abcdefghijkmnpqr","kind":"customer","ticket":"HD-2001","tier":"premium","line":"line1","mode":"camera","skills":[],"waitedSeconds":12,"until":"2026-11-22T10:00:15Z"}', "invalid-field"),
    ("queue.offer without skills", '{"type":"queue.offer","offerId":"o_abcdefghijkmnpqr","queueId":"q_abcdefghijkmnpqr","kind":"customer","ticket":"HD-2001","tier":"premium","line":"line1","mode":"camera","waitedSeconds":12,"until":"2026-11-22T10:00:15Z"}', "invalid-field"),
    ("queue.decline without offerId", '{"type":"queue.decline"}', "invalid-field"),
    ("unknown withdrawal reason", '{"type":"queue.withdrawn","offerId":"o_abcdefghijkmnpqr","reason":"bored"}', "invalid-field"),
    ("take offer not a string", '{"type":"hello","protocol":1,"role":"agent","token":"tdm_x","take":{"offer":7}}', "invalid-field"),
    ("callbackOffered not a boolean", '{"type":"queue.status","position":1,"line":"line1","tier":"basic","waitedSeconds":301,"callbackOffered":"yes"}', "invalid-field"),
    ("queue.callback without message", '{"type":"queue.callback","contact":"+44 20 7946 0018"}', "invalid-field"),
    ("supervisor.request note not a string", '{"type":"supervisor.request","note":5}', "invalid-field"),
    ("floor.state without agents", '{"type":"floor.state","at":"2026-11-22T14:30:05Z","targetSeconds":20,"serviceLevelTarget":0.8,"queues":[],"waiting":[],"sessions":[]}', "invalid-field"),
]
control = {
    "valid": [{"name": m["type"] + ("" if i == 0 else f" #{i}"), "json": canonical(m)} for i, m in enumerate(control_valid)],
    "invalid": [{"name": n, "json": j, "error": e} for n, j, e in control_invalid],
}

# §19 recordings: magic, then entries kind u8 · owner u8 · time u64 µs · length u32 · payload.
MAGIC = bytes([0x54, 0x44, 0x52, 0x45, 0x43, 0x01, 0x0D, 0x0A])


def entry(kind, owner, time, payload):
    return struct.pack(">BBQI", kind, owner, time, len(payload)) + payload


rec_frame = frame("jpeg", True, 1, 7, 1_732_000_000_000_000, bytes.fromhex("ffd8ffe000104a464946"))
rec_control = canonical({"type": "annotation", "op": "add", "owner": "customer", "streamId": 1, "author": "agent",
                         "shape": {"id": "a1", "kind": "arrow", "color": "#ff3b30", "width": 4, "points": [[0.2, 0.8], [0.5, 0.5]], "author": "agent"}}).encode()
recording = {
    "valid": [{
        "name": "a frame of the customer, then the agent's arrow",
        "hex": (MAGIC + entry(1, 1, 1_732_000_000_100_000, rec_frame) + entry(2, 0, 1_732_000_000_200_000, rec_control)).hex(),
        "entries": [
            {"kind": "media", "owner": "customer", "timeMicros": 1_732_000_000_100_000, "messageHex": rec_frame.hex()},
            {"kind": "control", "owner": "agent", "timeMicros": 1_732_000_000_200_000, "json": rec_control.decode()},
        ],
    }],
    "invalid": [
        {"name": "unknown entry kind", "hex": (MAGIC + entry(3, 0, 1, b"x")).hex(), "error": "malformed-recording"},
        {"name": "unknown owner", "hex": (MAGIC + entry(1, 2, 1, b"x")).hex(), "error": "malformed-recording"},
        {"name": "control payload that is not UTF-8", "hex": (MAGIC + entry(2, 0, 1, b'{"type":"\xd2"}')).hex(), "error": "malformed-recording"},
    ],
    "truncated": [
        {"name": "an entry cut in its payload", "hex": (MAGIC + entry(1, 1, 1, rec_frame))[:-3].hex()},
    ],
}
# §5.15: where a receiver draws an anchored shape's points. A map m = [a, b, c, d, e, f] sends
# (x, y) to (a·x + b·y + c, d·x + e·y + f). A shape drawn on a frame whose map was `anchor`
# is drawn on a frame whose map is `current` at current(anchor⁻¹(p)) — when both are of the
# same epoch and the current state is tracking; lost: the same place, faded; another epoch
# (or no track): where it was drawn.
def invert(m):
    a, b, c, d, e, f = m
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return [ia, ib, -(ia * c + ib * f), id_, ie, -(id_ * c + ie * f)]


def apply(m, p):
    a, b, c, d, e, f = m
    return [a * p[0] + b * p[1] + c, d * p[0] + e * p[1] + f]


def drawn(anchor, current, points):
    if current is None or current["epoch"] != anchor["epoch"]:
        return points, "unanchored"
    inverse = invert(anchor["m"])
    return [apply(current["m"], apply(inverse, p)) for p in points], current["state"]


def similarity(scale, degrees, tx, ty, aspect=16 / 9):
    """A camera similarity in pixels (rotation, zoom, shift), as a map of normalised coordinates
    of a picture `aspect` wide per unit high: N·S·N⁻¹ with N = diag(1/aspect, 1)."""
    import math
    r = math.radians(degrees)
    cos, sin = scale * math.cos(r), scale * math.sin(r)
    return [cos, -sin / aspect, tx, sin * aspect, cos, ty]


anchor_cases = [
    ("same map: drawn where drawn", {"epoch": 1, "m": [1, 0, 0, 0, 1, 0]}, {"epoch": 1, "state": "tracking", "m": [1, 0, 0, 0, 1, 0]}),
    ("the scene moved right by a tenth", {"epoch": 1, "m": [1, 0, 0, 0, 1, 0]}, {"epoch": 1, "state": "tracking", "m": [1, 0, 0.1, 0, 1, 0]}),
    ("zoom 1.25 about the world origin", {"epoch": 1, "m": [1, 0, 0, 0, 1, 0]}, {"epoch": 1, "state": "tracking", "m": [1.25, 0, 0, 0, 1.25, 0]}),
    ("drawn on a rotated frame, now rotated back", {"epoch": 2, "m": similarity(1.1, 8, 0.05, -0.02)}, {"epoch": 2, "state": "tracking", "m": similarity(0.9, -6, -0.03, 0.04)}),
    ("lost: same place as the last good map, faded", {"epoch": 2, "m": similarity(1, 3, 0, 0)}, {"epoch": 2, "state": "lost", "m": similarity(1.05, -2, 0.02, 0.01)}),
    ("another epoch: where it was drawn", {"epoch": 1, "m": similarity(1, 3, 0, 0)}, {"epoch": 2, "state": "tracking", "m": similarity(1.2, 0, 0.1, 0.1)}),
    ("no track at all: where it was drawn", {"epoch": 1, "m": similarity(1, 3, 0, 0)}, None),
]
anchors = []
for name, anchor, current in anchor_cases:
    points = [[0.375, 0.625], [0.5, 0.5], [0.0, 1.0]]
    result, state = drawn(anchor, current, points)
    anchors.append({"name": name, "anchor": anchor, "track": current, "points": points, "drawn": result, "state": state})
with open(os.path.join(HERE, "anchors.json"), "w") as f:
    json.dump({"cases": anchors, "tolerance": 1e-9}, f, indent=2)
    f.write("\n")

with open(os.path.join(HERE, "recording.json"), "w") as f:
    json.dump(recording, f, indent=2)

with open(os.path.join(HERE, "frames.json"), "w") as f:
    json.dump(frames, f, indent=2)
    f.write("\n")
with open(os.path.join(HERE, "control.json"), "w", encoding="utf-8") as f:
    json.dump(control, f, indent=2, ensure_ascii=False)
    f.write("\n")

# §11.8: the Merkle tree over the audit log, RFC 9162 §2.1, written from the RFC's definitions
# (recursive MTH, PATH and PROOF), not from the Swift code. Leaf data: the events' 32-byte
# chain hashes; here SHA-256 of "tandem-event-<i>" stands in for them.
import hashlib


def mth(leaves):
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m, leaves):
    if len(leaves) <= 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


merkle_data = [hashlib.sha256(f"tandem-event-{i}".encode()).digest() for i in range(13)]
merkle = {
    "leafData": [d.hex() for d in merkle_data],
    "leafHashes": [hashlib.sha256(b"\x00" + d).hexdigest() for d in merkle_data],
    "roots": [{"size": n, "root": mth(merkle_data[:n]).hex()} for n in range(len(merkle_data) + 1)],
    "inclusion": [{"index": m, "size": n, "proof": [h.hex() for h in path(m, merkle_data[:n])]}
                  for n in (1, 2, 3, 5, 7, 8, 13) for m in range(n)],
    "consistency": [{"oldSize": m, "newSize": n, "proof": [h.hex() for h in subproof(m, merkle_data[:n], True)]}
                    for n in (2, 3, 5, 7, 8, 13) for m in range(1, n)],
}
with open(os.path.join(HERE, "merkle.json"), "w") as f:
    json.dump(merkle, f, indent=2)


# §11.2: audit events and their chain hashes, a short chain written from the spec's canonical
# form. Escaping goes by user-perceived characters (extended grapheme clusters), as the
# broker does: "\r\n" is one character, not "\n", and stays; so does "=" followed by a
# combining mark. Only these two kinds of cluster are built here.
import unicodedata


def clusters(text):
    i = 0
    while i < len(text):
        j = i + 1
        if text[i] == "\r" and j < len(text) and text[j] == "\n":
            j += 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        yield text[i:j]
        i = j


def escape(text):
    table = {"%": "%25", "&": "%26", "=": "%3D", "\n": "%0A"}
    return "".join(table.get(c, c) for c in clusters(text))


def audit_event(seq, at_ms, session_id, kind, actor, detail, previous):
    pairs = "&".join(escape(k) + "=" + escape(v) for k, v in sorted(detail.items()))
    text = "\n".join([str(seq), str(at_ms), session_id or "", kind, actor or "", pairs, previous])
    return {"seq": seq, "atMs": at_ms, "sessionId": session_id, "kind": kind, "actor": actor, "detail": detail,
            "previousHash": previous, "canonical": text, "hash": hashlib.sha256(text.encode("utf-8")).hexdigest()}


audit_cases = [
    (None, "user.added", None, {"user": "alice", "role": "agent"}),
    ("s_abcdefghjkmnpqrs", "session.created", "alice", {"ticket": "HD-1042", "mode": "camera", "sessionSeq": "1"}),
    ("s_abcdefghjkmnpqrs", "join.failed", "customer", {"reason": "a=b&c%d\ne", "sessionSeq": "2"}),
    ("s_abcdefghjkmnpqrs", "survey.answered", "customer", {"comment": "café ☕ \u0645\u0631\u062d\u0628\u0627", "score": "5", "sessionSeq": "3"}),
    ("s_abcdefghjkmnpqrs", "session.ended", "alice", {"note": "line 1\r\nline 2\nline 3", "outcome": "resolved", "sessionSeq": "4"}),
    ("s_abcdefghjkmnpqrs", "outcome.recorded", None, {"note": "x=\u0301y", "sessionSeq": "5"}),
]
audit_events = []
previous = "0" * 64
for number, (session_id, kind, actor, detail) in enumerate(audit_cases, start=1):
    event = audit_event(number, 1795600800000 + number * 1500, session_id, kind, actor, detail, previous)
    audit_events.append(event)
    previous = event["hash"]
with open(os.path.join(HERE, "audit.json"), "w") as f:
    json.dump({"events": audit_events}, f, indent=2, ensure_ascii=False)

print("wrote frames.json, control.json, recording.json, anchors.json, merkle.json and audit.json")
