// Runs the browser codec (Sources/TandemServer/Web/js/protocol.js) against the same
// protocol/vectors as the Swift tests. Served from the repository root; the result goes
// into body[data-result] as JSON for the Selenium driver.
import * as protocol from "/Sources/TandemServer/Web/js/protocol.js";
import { anchoredPoints } from "/Sources/TandemServer/Web/js/overlay.js";

const hex = (text) => Uint8Array.from(text.match(/../g) ?? [], (byte) => parseInt(byte, 16));
const toHex = (bytes) => Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("");
const failures = [];
let passed = 0;

function expect(condition, name) {
  if (condition) passed += 1;
  else failures.push(name);
}

function expectError(run, code, name) {
  try {
    run();
    failures.push(`${name}: accepted, expected ${code}`);
  } catch (error) {
    expect(error.code === code, `${name}: ${error.code} instead of ${code}`);
  }
}

const frames = await (await fetch("/protocol/vectors/frames.json")).json();
const control = await (await fetch("/protocol/vectors/control.json")).json();

for (const vector of [...frames.valid, ...frames.extendedHeader]) {
  const frame = protocol.decodeFrame(hex(vector.hex));
  expect(frame.codec === vector.codec && frame.keyframe === vector.keyframe && frame.streamId === vector.streamId && frame.sequence === vector.sequence,
    `${vector.name}: header fields`);
  // JSON numbers above 2^53 lose precision the same way on both sides of this comparison.
  expect(Number(frame.timestampMicros) === vector.timestampMicros, `${vector.name}: capture time`);
  expect(toHex(frame.payload) === vector.payloadHex, `${vector.name}: payload`);
  expect(toHex(protocol.encodeFrame(frame, frame.payload)) === (vector.canonicalHex ?? vector.hex), `${vector.name}: re-encoded bytes`);
  // Fed one byte at a time: every prefix is refused as truncated, the whole frame decodes.
  const bytes = hex(vector.hex);
  let prefixesRefused = true;
  for (let length = 0; length < bytes.length; length += 1) {
    try {
      protocol.decodeFrame(bytes.subarray(0, length));
      prefixesRefused = false;
    } catch (error) {
      if (error.code !== "truncated-frame") prefixesRefused = false;
    }
  }
  expect(prefixesRefused, `${vector.name}: every prefix is truncated-frame`);
}
for (const vector of frames.invalid) expectError(() => protocol.decodeFrame(hex(vector.hex)), vector.error, vector.name);

for (const vector of control.valid) {
  try {
    const message = protocol.decodeControl(vector.json);
    expect(protocol.encodeControl(message) === vector.json, `${vector.name}: canonical re-encoding`);
  } catch (error) {
    failures.push(`${vector.name}: refused (${error.message})`);
  }
}
for (const vector of control.invalid) expectError(() => protocol.decodeControl(vector.json), vector.error, vector.name);

// §5.15: where overlay.js draws anchored shapes, against the Python generator's anchors.json.
const anchors = await (await fetch("/protocol/vectors/anchors.json")).json();
for (const vector of anchors.cases) {
  const placed = anchoredPoints({ points: vector.points, anchor: vector.anchor }, vector.track);
  const close = placed.points.length === vector.drawn.length && placed.points.every((point, index) =>
    Math.abs(point[0] - vector.drawn[index][0]) <= anchors.tolerance && Math.abs(point[1] - vector.drawn[index][1]) <= anchors.tolerance);
  expect(close, `anchors: ${vector.name}: drawn points`);
  const state = vector.state === "lost" ? placed.lost : vector.state === "tracking" ? !placed.lost : placed.points === vector.points || close;
  expect(state, `anchors: ${vector.name}: ${vector.state}`);
}

const vectors = frames.valid.length + frames.extendedHeader.length + frames.invalid.length + control.valid.length + control.invalid.length
  + anchors.cases.length;
document.getElementById("log").textContent = `${passed} checks passed, ${failures.length} failed\n${failures.join("\n")}`;
document.body.dataset.result = JSON.stringify({ vectors, passed, failures });
