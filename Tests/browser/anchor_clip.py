"""Test clip for anchored annotations (issue 17): a camera moving over an equipment board,
with the exact image position of a target port known for every frame.

`make_clip(path, ...)` writes a Y4M file (what Chromium's fake camera plays, looping; see
media.py `media_chromium(..., video=path)`) and returns the truth, one dict per frame:

    {"index": i, "time": i / fps, "target": [x, y], "occluded": bool, "camera": {...}}

`target` is where the fixed world target point (the centre of the port with the yellow
ring, near the middle of the board) is in frame i, normalised: x / width, y / height, (0, 0)
the top-left corner of the picture. During the occlusion segment (`occlusion`, seconds,
start inclusive, end exclusive) the frames show a dark, almost uniform "hand over the lens"
picture instead of the scene (`occluded: True`); the camera keeps moving underneath, so the
truth there is where the target would be, and the scene comes back where the path has got to.

The camera is a similarity from world pixels to image pixels (continuous coordinates: a
pixel's centre is at +0.5), `camera["matrix"]` = [[a, -b, tx], [b, a, ty]] with
a = zoom cos(rotation), b = zoom sin(rotation), image y pointing down (so a positive
`rotation_deg` turns the scene clockwise on the screen). It is a smooth path made of whole
cycles over the clip's length, so the clip loops without a jump (Chromium's fake camera
loops): a slow pan (the target stays within x 0.26-0.74 and y 0.40-0.60 of the picture, so
a screen-fixed arrow drawn at frame 0 is off by up to ~0.25 of the width within the first
9 s), rotation within +-9.5 deg, zoom within 0.81-1.24x (each spans most of its range in the
first 9 s), plus hand shake (about 2 px and 0.25 deg at 1.5-5 Hz). At frame 0 the target is
at the centre of the picture (within the shake). An arrow tail 0.15 of the width from the
tip, drawn at frame 0 in any direction, stays inside the picture for the whole clip.
`map_point(truth, i, j, point)` maps a normalised point of frame i (e.g. an arrow's tail
drawn there) to where the same world point is in frame j. Draw anchored shapes while the
page shows frame 0 or so (read the watermark) to get the margins above.

Frame index watermark: every frame carries its index (its frame number within the clip,
which is what a looping fake camera shows) in the CHROMA of 16 blocks in the top-left
corner, 2 rows of 8 blocks, each block 0.0375 x the picture width square (24 x 24 luma
pixels at 640 wide), so the strip is 0.30 x the width wide and 0.075 x the width high
(192 x 48 at 640 x 360). Luma there is the scene's, untouched: a tracker working on grey
(0.299 R + 0.587 G + 0.114 B) sees the scene, not the marks. Block k (row-major: row k // 8,
column k % 8) carries bit 15 - k of (index << 4) | crc4(index): the 12-bit index then a
4-bit CRC (polynomial x^4 + x + 1, initial 0b0101, output xor 0b1010, so all-grey, all-0
and all-1 strips are invalid). Bit 1: U = 172, V = 84 (blue); bit 0: U = 84, V = 172 (red)
(+-44 rather than +-64: less RGB clipping, so less leaks into grey). A reader averages the
middle half of each block, computes U and V from RGB (BT.601 full range), takes U > V as the
bit, and needs |U - V| >= 24 for every block and the CRC to match; otherwise the frame is
unreadable (-1). It survives JPEG (quality >= 0.5), VP8/VP9/H.264 at modest bitrates and
scaling down to half size (see the self-check). Where the scene is very bright or dark, RGB
clipping makes grey differ from luma in the strip by up to ~16 levels (mean ~2); a tracker
reading the Y plane of a VideoFrame sees no difference at all. Something drawn over the
strip (an arrow's tail) usually makes the frame unreadable (-1), but a strongly coloured
overlay can flip bits, and the CRC lets 1 in 16 such misreads through: keep overlays off the
strip, or accept an index only when it agrees with the reads around it.

`decode_index_js()` is that reader for Selenium: driver.execute_script(decode_index_js(),
canvas) returns the index or -1 (arguments[1], optional: {x, y, width, height} of the
picture inside the canvas, in canvas pixels, when it does not fill the canvas; the source
may also be a <video> or <img>). `decode_index_function()` is the bare function expression
for use inside a page. `decode_index_rgb(rgb)` is the same reader in Python.

usage: python3 Tests/browser/anchor_clip.py [directory]   (self-check; keeps the clip there)
"""
import json
import math
import os

import numpy as np

VERSION = 1
BLOCK_FRACTION = 0.0375  # watermark block side / picture width (24 px at 640)
COLUMNS, ROWS = 8, 2
INDEX_BITS, CHECK_BITS = 12, 4
AMPLITUDE = 44  # U = 128 +- AMPLITUDE, V = 128 -+ AMPLITUDE
HIGH, LOW = 128 + AMPLITUDE, 128 - AMPLITUDE
MIN_SEPARATION = 24  # |U - V| a block needs to count as read
PAN = (0.24, 0.10)  # target offset from the centre, fraction of width / height (plus shake)
ROTATION_DEG = 9.2  # the path's rotation range, +-; hand shake adds up to SHAKE_DEG
SHAKE_DEG = 0.25
ZOOM = (0.81, 1.24)
LUMA_RANGE = (30.0, 225.0)  # the scene's luma, kept off the rails so the chroma marks never clip to grey


# --- the watermark ------------------------------------------------------------------------

def crc4(value):
    """CRC-4 (x^4 + x + 1) of a 12-bit value, MSB first, init 0b0101, xor-out 0b1010."""
    crc = 0b0101
    for bit in range(INDEX_BITS - 1, -1, -1):
        top = ((crc >> 3) & 1) ^ ((value >> bit) & 1)
        crc = (crc << 1) & 0xF
        if top:
            crc ^= 0x3
    return crc ^ 0b1010


def watermark_bits(index):
    """The 16 block bits of a frame index, block 0 first."""
    if not 0 <= index < (1 << INDEX_BITS):
        raise ValueError(f"frame index {index} does not fit in {INDEX_BITS} bits")
    word = (index << CHECK_BITS) | crc4(index)
    return [(word >> (COLUMNS * ROWS - 1 - k)) & 1 for k in range(COLUMNS * ROWS)]


def watermark_block(width):
    """The side of a block in luma pixels for a picture `width` wide (even, for 4:2:0)."""
    return max(2, int(round(BLOCK_FRACTION * width / 2)) * 2)


def _stamp(u, v, index, width):
    """Writes the index into the chroma planes (half resolution) of one frame."""
    side = watermark_block(width) // 2
    for k, bit in enumerate(watermark_bits(index)):
        row, column = divmod(k, COLUMNS)
        area = (slice(row * side, (row + 1) * side), slice(column * side, (column + 1) * side))
        u[area] = HIGH if bit else LOW
        v[area] = LOW if bit else HIGH


def _bits_to_index(bits):
    word = 0
    for bit in bits:
        word = (word << 1) | bit
    index, check = word >> CHECK_BITS, word & ((1 << CHECK_BITS) - 1)
    return index if crc4(index) == check else -1


def decode_index_rgb(rgb, rect=None, details=False):
    """The frame index in an RGB picture (H x W x 3, uint8) of the clip, or -1.
    `rect` = (x, y, width, height) of the clip's picture inside `rgb` (default: all of it).
    With `details`, returns (index, bits, separations) instead."""
    rgb = np.asarray(rgb, dtype=np.float64)
    x, y, width, _ = rect if rect is not None else (0, 0, rgb.shape[1], rgb.shape[0])
    side = width * BLOCK_FRACTION
    bits, separations = [], []
    for k in range(COLUMNS * ROWS):
        row, column = divmod(k, COLUMNS)
        x0, y0 = x + (column + 0.25) * side, y + (row + 0.25) * side
        x0, y0 = int(round(x0)), int(round(y0))
        x1 = max(x0 + 1, int(round(x + (column + 0.75) * side)))
        y1 = max(y0 + 1, int(round(y + (row + 0.75) * side)))
        r, g, b = rgb[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
        u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
        v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
        bits.append(1 if u > v else 0)
        separations.append(abs(u - v))
    index = _bits_to_index(bits) if min(separations) >= MIN_SEPARATION else -1
    return (index, bits, separations) if details else index


def decode_index_function():
    """A JavaScript function expression `(source, rect) => index or -1` (see the module doc)."""
    return """function (source, rect) {
  const FRACTION = %(fraction)r, COLUMNS = %(columns)d, ROWS = %(rows)d, CHECK = %(check)d, MIN = %(min)d;
  if (!source) return -1;
  const width = source.videoWidth || source.naturalWidth || source.width;
  const height = source.videoHeight || source.naturalHeight || source.height;
  if (!width || !height) return -1;
  const r = rect || { x: 0, y: 0, width, height };
  const side = r.width * FRACTION;
  const w = Math.min(width, Math.ceil(r.x + COLUMNS * side) + 1), h = Math.min(height, Math.ceil(r.y + ROWS * side) + 1);
  if (w < 2 || h < 2) return -1;
  const scratch = window.__tandemClipScratch || (window.__tandemClipScratch = document.createElement("canvas"));
  if (scratch.width < w) scratch.width = w;
  if (scratch.height < h) scratch.height = h;
  const context = scratch.getContext("2d", { willReadFrequently: true });
  let pixels;
  try {
    context.clearRect(0, 0, w, h);
    context.drawImage(source, 0, 0, w, h, 0, 0, w, h);
    pixels = context.getImageData(0, 0, w, h).data;
  } catch (error) { return -1; }
  let word = 0;
  for (let k = 0; k < COLUMNS * ROWS; k++) {
    const row = Math.floor(k / COLUMNS), column = k %% COLUMNS;
    const x0 = Math.round(r.x + (column + 0.25) * side), y0 = Math.round(r.y + (row + 0.25) * side);
    const x1 = Math.max(x0 + 1, Math.round(r.x + (column + 0.75) * side));
    const y1 = Math.max(y0 + 1, Math.round(r.y + (row + 0.75) * side));
    let red = 0, green = 0, blue = 0, n = 0;
    for (let y = y0; y < y1 && y < h; y++) for (let x = x0; x < x1 && x < w; x++) {
      const i = (y * w + x) * 4;
      red += pixels[i]; green += pixels[i + 1]; blue += pixels[i + 2]; n++;
    }
    if (!n) return -1;
    red /= n; green /= n; blue /= n;
    const u = -0.168736 * red - 0.331264 * green + 0.5 * blue + 128;
    const v = 0.5 * red - 0.418688 * green - 0.081312 * blue + 128;
    if (Math.abs(u - v) < MIN) return -1;
    word = word * 2 + (u > v ? 1 : 0);
  }
  const index = Math.floor(word / (1 << CHECK)), check = word %% (1 << CHECK);
  let crc = 5;
  for (let bit = 11; bit >= 0; bit--) {
    const top = ((crc >> 3) & 1) ^ ((index >> bit) & 1);
    crc = (crc << 1) & 15;
    if (top) crc ^= 3;
  }
  return (crc ^ 10) === check ? index : -1;
}""" % {"fraction": BLOCK_FRACTION, "columns": COLUMNS, "rows": ROWS, "check": CHECK_BITS, "min": MIN_SEPARATION}


def decode_index_js():
    """A script for Selenium: driver.execute_script(decode_index_js(), canvas[, rect]) -> index or -1."""
    return "return (" + decode_index_function() + ")(arguments[0], arguments[1] || null);"


# --- the world: an equipment board on a wall ---------------------------------------------

def _smoothstep(t):
    return t * t * (3 - 2 * t)


def _noise(rng, height, width, cell_y, cell_x=None):
    """Value noise in [-1, 1] with features about `cell` pixels apart (smooth interpolation)."""
    cell_x = cell_y if cell_x is None else cell_x
    grid = rng.uniform(-1, 1, (int(height / cell_y) + 3, int(width / cell_x) + 3)).astype(np.float32)
    y = np.arange(height, dtype=np.float32) / cell_y
    x = np.arange(width, dtype=np.float32) / cell_x
    iy, ix = y.astype(np.int32), x.astype(np.int32)
    fy, fx = _smoothstep(y - iy)[:, None], _smoothstep(x - ix)[None, :]
    rows = grid[iy] * (1 - fy) + grid[iy + 1] * fy
    return rows[:, ix] * (1 - fx) + rows[:, ix + 1] * fx


def _blur(plane, passes=1):
    for _ in range(passes):
        plane = plane.copy()
        plane[1:-1] = 0.25 * plane[:-2] + 0.5 * plane[1:-1] + 0.25 * plane[2:]
        plane[:, 1:-1] = 0.25 * plane[:, :-2] + 0.5 * plane[:, 1:-1] + 0.25 * plane[:, 2:]
    return plane


class _World:
    """Three float32 planes: luma in [0, 1] (mapped to LUMA_RANGE at the end), U and V in 0..255."""

    def __init__(self, width, height):
        self.width, self.height = width, height
        self.y = np.zeros((height, width), np.float32)
        self.u = np.full((height, width), 128, np.float32)
        self.v = np.full((height, width), 128, np.float32)

    def _paint(self, rows, columns, alpha, lum, u, v):
        if lum is not None:
            self.y[rows, columns] += alpha * (lum - self.y[rows, columns])
        if u is not None:
            self.u[rows, columns] += alpha * (u - self.u[rows, columns])
        if v is not None:
            self.v[rows, columns] += alpha * (v - self.v[rows, columns])

    def _box(self, x0, y0, x1, y1):
        xa, ya = max(0, int(math.floor(x0))), max(0, int(math.floor(y0)))
        xb, yb = min(self.width, int(math.ceil(x1))), min(self.height, int(math.ceil(y1)))
        return xa, ya, xb, yb

    def rect(self, x0, y0, x1, y1, lum, u=None, v=None, opacity=1.0):
        """An axis-aligned rectangle, anti-aliased by exact pixel coverage."""
        xa, ya, xb, yb = self._box(x0, y0, x1, y1)
        if xa >= xb or ya >= yb:
            return
        xs, ys = np.arange(xa, xb, dtype=np.float32), np.arange(ya, yb, dtype=np.float32)
        cover_x = np.clip(np.minimum(xs + 1, x1) - np.maximum(xs, x0), 0, 1)
        cover_y = np.clip(np.minimum(ys + 1, y1) - np.maximum(ys, y0), 0, 1)
        alpha = opacity * cover_y[:, None] * cover_x[None, :]
        self._paint(slice(ya, yb), slice(xa, xb), alpha, lum, u, v)

    def _distance(self, cx, cy, reach):
        xa, ya, xb, yb = self._box(cx - reach, cy - reach, cx + reach, cy + reach)
        xs = np.arange(xa, xb, dtype=np.float32) + 0.5 - cx
        ys = np.arange(ya, yb, dtype=np.float32) + 0.5 - cy
        return (slice(ya, yb), slice(xa, xb)), np.hypot(ys[:, None], xs[None, :])

    def disc(self, cx, cy, radius, lum, u=None, v=None):
        area, d = self._distance(cx, cy, radius + 1)
        self._paint(*area, np.clip(radius - d + 0.5, 0, 1), lum, u, v)

    def ring(self, cx, cy, inner, outer, lum, u=None, v=None):
        area, d = self._distance(cx, cy, outer + 1)
        alpha = np.clip(outer - d + 0.5, 0, 1) * np.clip(d - inner + 0.5, 0, 1)
        self._paint(*area, alpha, lum, u, v)

    def glyphs(self, x, y, count, cell, lum, rng, u=None, v=None):
        """`count` blocky 3x5 glyphs (random bitmaps) starting at (x, y), `cell` pixels per dot."""
        for n in range(count):
            bitmap = rng.random((5, 3)) < 0.55
            bitmap[rng.integers(0, 5), rng.integers(0, 3)] = True
            for r, c in zip(*np.nonzero(bitmap)):
                gx = x + n * 4 * cell + c * cell
                self.rect(gx, y + r * cell, gx + cell, y + (r + 1) * cell, lum, u, v)

    def tube(self, points, radius, lum, u=None, v=None):
        """A shaded cable along a polyline (N x 2 points)."""
        points = np.asarray(points, np.float32)
        xa, ya, xb, yb = self._box(points[:, 0].min() - radius - 1, points[:, 1].min() - radius - 1,
                                   points[:, 0].max() + radius + 1, points[:, 1].max() + radius + 1)
        if xa >= xb or ya >= yb:
            return
        px = np.arange(xa, xb, dtype=np.float32)[None, :] + 0.5
        py = np.arange(ya, yb, dtype=np.float32)[:, None] + 0.5
        best = np.full((yb - ya, xb - xa), np.inf, np.float32)
        for (ax, ay), (bx, by) in zip(points[:-1], points[1:]):
            dx, dy = bx - ax, by - ay
            t = np.clip(((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-6), 0, 1)
            best = np.minimum(best, np.hypot(px - ax - t * dx, py - ay - t * dy))
        alpha = np.clip(radius - best + 0.5, 0, 1)
        across = np.clip(best / radius, 0, 1)
        shade = lum * (0.45 + 0.55 * np.sqrt(1 - across ** 2)) + 0.25 * np.exp(-((best - 0.35 * radius) / (0.18 * radius)) ** 2)
        self._paint(slice(ya, yb), slice(xa, xb), alpha, shade, u, v)


def _bezier(p0, p1, p2, p3, n=40):
    t = np.linspace(0, 1, n)[:, None]
    p0, p1, p2, p3 = (np.asarray(p, np.float32) for p in (p0, p1, p2, p3))
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3


CABLE_COLOURS = [  # (luma, U, V): blue, green, grey, red, white, purple; no yellow (the ring's)
    (0.45, 165, 112), (0.42, 108, 100), (0.55, 128, 128), (0.40, 108, 178), (0.80, 126, 130), (0.35, 160, 160),
]


def _make_world(width, height, seed):
    """The world picture (3x the frame size) and the target point, both in world pixels."""
    rng = np.random.default_rng(seed)
    W, H = 3 * width, 3 * height
    s = width / 640.0  # layout unit: world drawn for a 640-wide frame, scaled
    cx, cy = W / 2.0, H / 2.0
    world = _World(W, H)

    # The wall: multi-scale texture, warm tint, speckles.
    wall = 0.5 + 0.16 * _noise(rng, H, W, 150 * s) + 0.10 * _noise(rng, H, W, 40 * s)
    wall += 0.07 * _noise(rng, H, W, 12 * s) + 0.05 * _noise(rng, H, W, 4 * s)
    world.y[:] = wall
    world.u[:] = 122 + 4 * _noise(rng, H, W, 200 * s)
    world.v[:] = 134 + 4 * _noise(rng, H, W, 200 * s)
    for _ in range(int(900 * s * s)):
        x, y = rng.uniform(0, W), rng.uniform(0, H)
        world.disc(x, y, rng.uniform(1.2, 3.5) * s, float(rng.choice([0.15, 0.85])) + rng.uniform(-0.1, 0.1))
    for _ in range(14):  # notes and outlets on the wall
        x, y = rng.uniform(0, W), rng.choice([rng.uniform(0, cy - 300 * s), rng.uniform(cy + 280 * s, H)])
        w, h = rng.uniform(30, 90) * s, rng.uniform(25, 70) * s
        world.rect(x, y, x + w, y + h, float(rng.uniform(0.7, 0.95)), 128 + rng.uniform(-20, 10), 128 + rng.uniform(-5, 20))
        world.glyphs(x + 5 * s, y + 6 * s, max(1, int(w / (10 * s)) - 1), 2 * s, 0.2, rng)

    # The panel: brushed metal with dirt, a bevel, mounting ears with screws.
    x0, y0, x1, y1 = cx - 700 * s, cy - 240 * s, cx + 700 * s, cy + 250 * s
    xa, ya, xb, yb = world._box(x0, y0, x1, y1)
    brushed = 0.34 + 0.05 * _noise(rng, yb - ya, xb - xa, 1.5 * s, 70 * s) + 0.06 * _noise(rng, yb - ya, xb - xa, 60 * s)
    brushed += 0.04 * _noise(rng, yb - ya, xb - xa, 8 * s) + 0.03 * _noise(rng, yb - ya, xb - xa, 3 * s)
    world.rect(x0 - 60 * s, y0 + 20 * s, x1 + 60 * s, y0 + 140 * s, 0.5, 132, 126)  # ears
    world.rect(x0 - 60 * s, y1 - 140 * s, x1 + 60 * s, y1 - 20 * s, 0.5, 132, 126)
    world.rect(x0, y0, x1, y1, brushed, 134, 124)
    world.rect(x0, y0, x1, y0 + 4 * s, 0.75)
    world.rect(x0, y1 - 5 * s, x1, y1, 0.12)
    world.rect(x0, y0, x0 + 3 * s, y1, 0.6)
    world.rect(x1 - 4 * s, y0, x1, y1, 0.15)
    screws = [(x0 - 32 * s, y0 + 80 * s), (x1 + 32 * s, y0 + 80 * s), (x0 - 32 * s, y1 - 80 * s), (x1 + 32 * s, y1 - 80 * s),
              (x0 + 22 * s, y0 + 22 * s), (x1 - 22 * s, y0 + 22 * s), (x0 + 22 * s, y1 - 22 * s), (x1 - 22 * s, y1 - 22 * s),
              (cx - 200 * s, y0 + 22 * s), (cx + 260 * s, y1 - 22 * s)]
    for sx, sy in screws:
        world.disc(sx, sy, 11 * s, 0.7)
        world.disc(sx, sy, 8 * s, 0.55)
        world.rect(sx - 7 * s, sy - 1.5 * s, sx + 7 * s, sy + 1.5 * s, 0.1)
        world.rect(sx - 1.5 * s, sy - 7 * s, sx + 1.5 * s, sy + 7 * s, 0.1)

    # Title, model label, a barcode sticker, a vent grille, a power socket.
    world.glyphs(x0 + 60 * s, y0 + 30 * s, 7, 7 * s, 0.9, rng)
    world.glyphs(x0 + 300 * s, y0 + 44 * s, 12, 3 * s, 0.8, rng)
    world.rect(x0 + 40 * s, y1 - 85 * s, x0 + 200 * s, y1 - 30 * s, 0.92, 128, 128)
    bx = x0 + 50 * s
    while bx < x0 + 190 * s:
        w = rng.choice([1.5, 3, 4.5]) * s
        world.rect(bx, y1 - 78 * s, bx + w, y1 - 50 * s, 0.08)
        bx += w + rng.choice([1.5, 3]) * s
    world.glyphs(x0 + 52 * s, y1 - 46 * s, 10, 2.5 * s, 0.15, rng)
    for r in range(22):
        for c in range(2):
            gx, gy = x1 - 150 * s + c * 70 * s, y0 + 90 * s + r * 15 * s
            world.rect(gx, gy, gx + 58 * s, gy + 6 * s, 0.06)
    world.rect(x1 - 160 * s, y1 - 100 * s, x1 - 90 * s, y1 - 40 * s, 0.1)
    world.rect(x1 - 150 * s, y1 - 88 * s, x1 - 100 * s, y1 - 52 * s, 0.25)
    world.disc(x1 - 50 * s, y1 - 70 * s, 12 * s, 0.9, 100, 150)

    # Ports: 3 rows of 14 RJ45-like ports, each with LEDs above and a label below.
    pitch, row_gap, pw, ph = 84 * s, 150 * s, 50 * s, 42 * s
    target = (cx, cy)
    plugged = []
    for row in (-1, 0, 1):
        for k in range(14):
            px, py = cx + (k - 7) * pitch, cy + row * row_gap
            is_target = row == 0 and k == 7
            world.rect(px - pw / 2 - 5 * s, py - ph / 2 - 5 * s, px + pw / 2 + 5 * s, py + ph / 2 + 5 * s, 0.62)
            world.rect(px - pw / 2, py - ph / 2, px + pw / 2, py + ph / 2, 0.07)
            world.rect(px - 10 * s, py + ph / 2 - 8 * s, px + 10 * s, py + ph / 2, 0.07)
            for pin in range(8):
                gx = px - 17 * s + pin * 4.6 * s
                world.rect(gx, py - ph / 2 + 4 * s, gx + 2.2 * s, py - ph / 2 + 13 * s, 0.55, 95, 140)
            for led, (lu, lv) in enumerate([(90, 100), (100, 168)]):
                on = rng.random() < 0.6
                if is_target:  # the ring goes there
                    continue
                lx = px - 18 * s + led * 28 * s
                world.rect(lx, py - ph / 2 - 22 * s, lx + 9 * s, py - ph / 2 - 14 * s, 0.9 if on else 0.2, lu if on else None, lv if on else None)
            world.glyphs(px - 14 * s, py + ph / 2 + 12 * s, int(rng.integers(2, 4)), 3 * s, 0.88, rng)
            # Cables plug into some ports, never over the target's column or its neighbours.
            free_below = not (row == -1 and 5 <= k <= 9) and not (row == 0 and 6 <= k <= 8)
            if not is_target and free_below and rng.random() < 0.35:
                plugged.append((px, py, CABLE_COLOURS[int(rng.integers(0, len(CABLE_COLOURS)))]))
    for px, py, (lum, u, v) in plugged:
        world.rect(px - pw / 2 + 3 * s, py - ph / 2 + 3 * s, px + pw / 2 - 3 * s, py + ph / 2 - 2 * s, 0.8, u, v)
        world.rect(px - 16 * s, py - ph / 2 + 6 * s, px + 16 * s, py + ph / 2 + 18 * s, lum * 0.8, u, v)
        drift = rng.uniform(-60, 60) * s
        end = (px + drift + rng.uniform(-40, 40) * s, H + 20 * s)
        path = _bezier((px, py + ph / 2 + 16 * s), (px, py + 200 * s), (px + drift, py + 250 * s), end)
        world.tube(path, 9 * s, lum, u, v)

    # The target: the empty port at the centre with a bright yellow ring around it.
    world.ring(target[0], target[1], 36 * s, 43 * s, 0.97, 40, 152)
    world.ring(target[0], target[1], 33 * s, 36 * s, 0.05)

    luma = _blur(np.clip(world.y, 0, 1))
    luma = LUMA_RANGE[0] + (LUMA_RANGE[1] - LUMA_RANGE[0]) * luma
    return (luma.astype(np.float32), _blur(world.u, 2).astype(np.float32), _blur(world.v, 2).astype(np.float32)), target


# --- the camera ---------------------------------------------------------------------------

def _periodic(rng, t, period, harmonics, low, high, start=None, early=None, tries=48):
    """A smooth function of t made of whole cycles over `period` (so it loops), spanning exactly
    low..high; with `start`, f(0) = start. Of `tries` random candidates, the one that spans most
    of its range before `early` seconds (with `start`: and is most balanced around it) wins."""
    best, best_score = None, -1.0
    for _ in range(tries):
        f = np.zeros_like(t)
        for k in harmonics:
            weight, phase = rng.uniform(0.4, 1.0) / k ** 0.7, rng.uniform(0, 2 * math.pi)
            f += weight * np.sin(2 * math.pi * k * t / period + phase)
            if start is not None:
                f -= weight * math.sin(phase)
        if start is None:
            f = low + (f - f.min()) * (high - low) / (f.max() - f.min())
            score = 1.0
        else:
            scale = min((high - start) / f.max() if f.max() > 0 else np.inf, (start - low) / -f.min() if f.min() < 0 else np.inf)
            f = start + f * scale
            score = (f.max() - f.min()) / (high - low)
        if early is not None:
            head = f[t < early]
            score *= (head.max() - head.min()) / (f.max() - f.min())
        if score > best_score:
            best, best_score = f, score
    return best


def _shake(rng, t, period, amplitude):
    """Hand shake: a few components at 1.5-5 Hz (whole cycles over the period), max |f| = amplitude."""
    ks = rng.choice(np.arange(max(4, int(1.5 * period)), max(8, int(5 * period))), 5, replace=False)
    f = sum(rng.uniform(0.5, 1.0) * np.sin(2 * math.pi * k * t / period + rng.uniform(0, 2 * math.pi)) for k in ks)
    return f * (amplitude / np.abs(f).max())


def _camera_path(n, fps, width, height, target, seed):
    """Per frame: zoom, rotation (radians), the similarity world -> image (2 x 3) and pan/shake."""
    rng = np.random.default_rng(seed + 1000)
    t = np.arange(n) / fps
    period = n / fps
    early = min(period, 9.0)
    pan_x = _periodic(rng, t, period, (1, 2, 3), -PAN[0] * width, PAN[0] * width, start=0.0, early=early)
    pan_y = _periodic(rng, t, period, (1, 2, 3), -PAN[1] * height, PAN[1] * height, start=0.0, early=early)
    rotation = _periodic(rng, t, period, (1, 2, 3), -math.radians(ROTATION_DEG), math.radians(ROTATION_DEG), early=early)
    zoom = np.exp(_periodic(rng, t, period, (1, 2), math.log(ZOOM[0]), math.log(ZOOM[1]), early=early))
    shake_x = _shake(rng, t, period, 2.2 * width / 640)
    shake_y = _shake(rng, t, period, 2.0 * width / 640)
    rotation = rotation + _shake(rng, t, period, math.radians(SHAKE_DEG))
    cameras = []
    for i in range(n):
        a, b = zoom[i] * math.cos(rotation[i]), zoom[i] * math.sin(rotation[i])
        ix = width / 2 + pan_x[i] + shake_x[i]
        iy = height / 2 + pan_y[i] + shake_y[i]
        tx = ix - (a * target[0] - b * target[1])
        ty = iy - (b * target[0] + a * target[1])
        cameras.append({
            "zoom": float(zoom[i]), "rotation_deg": math.degrees(rotation[i]),
            "pan": [float(pan_x[i] / width), float(pan_y[i] / height)],
            "shake_px": [float(shake_x[i]), float(shake_y[i])],
            "matrix": [[float(a), float(-b), float(tx)], [float(b), float(a), float(ty)]],
            "size": [width, height],
        })
    return cameras


def project(camera, point):
    """World pixels -> image pixels."""
    (a, nb, tx), (b, _, ty) = camera["matrix"]
    return a * point[0] + nb * point[1] + tx, b * point[0] + a * point[1] + ty


def unproject(camera, point):
    """Image pixels -> world pixels."""
    (a, _, tx), (b, _, ty) = camera["matrix"]
    x, y = point[0] - tx, point[1] - ty
    d = a * a + b * b
    return (a * x + b * y) / d, (-b * x + a * y) / d


def map_point(truth, i, j, point):
    """The normalised position in frame j of the world point seen at normalised `point` in frame i."""
    width, height = truth[i]["camera"]["size"]
    world = unproject(truth[i]["camera"], (point[0] * width, point[1] * height))
    x, y = project(truth[j]["camera"], world)
    return [x / width, y / height]


# --- rendering -----------------------------------------------------------------------------

def _sample(plane, wx, wy):
    """Bilinear samples of `plane` at index coordinates (pixel centres at integers)."""
    h, w = plane.shape
    x0, y0 = np.floor(wx), np.floor(wy)
    fx, fy = (wx - x0).astype(np.float32), (wy - y0).astype(np.float32)
    x0 = np.clip(x0.astype(np.int32), 0, w - 2)
    y0 = np.clip(y0.astype(np.int32), 0, h - 2)
    flat = plane.ravel()
    i = y0 * w + x0
    top = flat[i] * (1 - fx) + flat[i + 1] * fx
    bottom = flat[i + w] * (1 - fx) + flat[i + w + 1] * fx
    return top * (1 - fy) + bottom * fy


def _render(planes, camera, grids):
    """One frame's Y, U, V (float) by inverse mapping each image pixel centre into the world."""
    (a, _, tx), (b, _, ty) = camera["matrix"]
    d = a * a + b * b
    out = []
    for plane, (gx, gy) in zip(planes, grids):
        x, y = gx - tx, gy - ty
        wx = (a * x + b * y) / d - 0.5
        wy = (-b * x + a * y) / d - 0.5
        out.append(_sample(plane, wx, wy))
    return out


def _occluder(rng, width, height, n):
    """A slowly drifting dark picture with low-contrast blotches: a hand over the lens."""
    big = 0.6 * _noise(rng, height + 2 * n, width + 2 * n, 90) + 0.4 * _noise(rng, height + 2 * n, width + 2 * n, 40)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    vignette = 1 - 0.5 * (((xx - width * 0.6) / width) ** 2 + ((yy - height * 0.4) / height) ** 2)

    def frame(k):
        blotch = big[k:k + height, k // 2:k // 2 + width]
        return 28 + 10 * vignette + 5 * blotch
    return frame


def clip_name(fps=15, seconds=14, width=640, height=360, occlusion=(9.0, 10.0), seed=7):
    """A file name that encodes make_clip's parameters (for a cache directory)."""
    occ = "none" if not occlusion else f"{occlusion[0]:g}-{occlusion[1]:g}"
    return f"anchor-v{VERSION}-{width}x{height}-{fps}fps-{seconds:g}s-occ{occ}-seed{seed}.y4m"


def make_clip(path, fps=15, seconds=14, width=640, height=360, occlusion=(9.0, 10.0), seed=7):
    """Writes (or reuses) the clip at `path` (its truth beside it, `path` + ".json"); returns the truth."""
    if width % 2 or height % 2:
        raise ValueError("width and height must be even (4:2:0)")
    n = int(round(fps * seconds))
    params = {"version": VERSION, "fps": fps, "seconds": seconds, "width": width, "height": height,
              "occlusion": list(occlusion) if occlusion else None, "seed": seed}
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    frame_bytes = width * height * 3 // 2
    size = len(header) + n * (6 + frame_bytes)
    sidecar = path + ".json"
    try:
        with open(sidecar) as file:
            saved = json.load(file)
        if saved.get("params") == params and os.path.getsize(path) == size:
            return saved["truth"]
    except (OSError, ValueError):
        pass

    planes, target = _make_world(width, height, seed)
    cameras = _camera_path(n, fps, width, height, target, seed)
    rng = np.random.default_rng(seed + 2000)
    occluder = _occluder(rng, width, height, n)
    ly, lx = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    cy, cx = np.mgrid[0:height // 2, 0:width // 2].astype(np.float32) * 2 + 1  # C420jpeg: chroma centred in 2x2
    grids = [(lx, ly), (cx, cy), (cx, cy)]
    truth = []
    temporary = f"{path}.{os.getpid()}.tmp"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(temporary, "wb") as file:
        file.write(header)
        for i, camera in enumerate(cameras):
            t = i / fps
            occluded = bool(occlusion) and occlusion[0] <= t + 1e-9 < occlusion[1]
            if occluded:
                y = occluder(i) + rng.standard_normal((height, width), np.float32) * 1.2
                u = np.full((height // 2, width // 2), 121, np.float32) + rng.standard_normal((height // 2, width // 2), np.float32) * 0.6
                v = np.full((height // 2, width // 2), 138, np.float32) + rng.standard_normal((height // 2, width // 2), np.float32) * 0.6
            else:
                y, u, v = _render(planes, camera, grids)
                y += rng.standard_normal((height, width), np.float32) * 1.6
                u += rng.standard_normal((height // 2, width // 2), np.float32) * 0.8
                v += rng.standard_normal((height // 2, width // 2), np.float32) * 0.8
            y = np.clip(np.rint(y), 0, 255).astype(np.uint8)
            u = np.clip(np.rint(u), 0, 255).astype(np.uint8)
            v = np.clip(np.rint(v), 0, 255).astype(np.uint8)
            _stamp(u, v, i, width)
            file.write(b"FRAME\n")
            file.write(y.tobytes())
            file.write(u.tobytes())
            file.write(v.tobytes())
            x_img, y_img = project(camera, target)
            truth.append({"index": i, "time": t, "target": [x_img / width, y_img / height], "occluded": occluded, "camera": camera})
    os.replace(temporary, path)
    with open(temporary, "w") as file:
        json.dump({"params": params, "world_target": list(target), "world_size": [3 * width, 3 * height], "truth": truth}, file)
    os.replace(temporary, sidecar)
    return truth


def read_y4m(path):
    """Yields (Y, U, V) uint8 planes of each frame of a 4:2:0 Y4M file (for checks)."""
    with open(path, "rb") as file:
        header = file.readline().split()
        width = int(next(t[1:] for t in header if t.startswith(b"W")))
        height = int(next(t[1:] for t in header if t.startswith(b"H")))
        size = width * height
        while file.readline().startswith(b"FRAME"):
            data = np.frombuffer(file.read(size * 3 // 2), np.uint8)
            yield (data[:size].reshape(height, width), data[size:size * 5 // 4].reshape(height // 2, width // 2),
                   data[size * 5 // 4:].reshape(height // 2, width // 2))


def yuv_to_rgb(y, u, v, limited=True):
    """BT.601 YUV 4:2:0 -> RGB uint8 (limited range, as Chromium shows an untagged camera frame, or full)."""
    u = np.repeat(np.repeat(u, 2, 0), 2, 1).astype(np.float32) - 128
    v = np.repeat(np.repeat(v, 2, 0), 2, 1).astype(np.float32) - 128
    y = y.astype(np.float32)
    if limited:
        y, u, v = (y - 16) * 255 / 219, u * 255 / 224, v * 255 / 224
    rgb = np.stack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


# --- self-check ----------------------------------------------------------------------------

def _ffmpeg_round_trip(path, width, height, scale, codec_args, frames):
    """Encodes the clip with ffmpeg (scaled), decodes it back; returns {frame number: rgb}."""
    import subprocess
    import tempfile
    w, h = int(width * scale) // 2 * 2, int(height * scale) // 2 * 2
    with tempfile.TemporaryDirectory() as directory:
        encoded = os.path.join(directory, "clip.mkv")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", path, "-vf", f"scale={w}:{h}", "-pix_fmt", "yuv420p",
                        *codec_args, encoded], check=True)
        raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", encoded, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             check=True, capture_output=True).stdout
    pictures = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    return {i: pictures[i] for i in frames if i < len(pictures)}


def _ring_centre(u, width, near, reach=70):
    """Centre of the ring's yellow (low U) around `near` (image pixels), weighted: an independent
    check of the truth against the pictures, in luma pixels."""
    h, w = u.shape
    cy, cx = np.mgrid[0:h, 0:w].astype(np.float64) * 2 + 1
    weight = np.clip(75 - u.astype(np.float64), 0, None) * (np.hypot(cx - near[0], cy - near[1]) < reach * width / 640)
    side = watermark_block(width) // 2
    weight[:ROWS * side + 2, :COLUMNS * side + 2] = 0
    if weight.sum() <= 0:
        return None
    return (weight * cx).sum() / weight.sum(), (weight * cy).sum() / weight.sum()


def main():
    import sys
    import tempfile
    import time
    directory = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="anchor-clip-")
    path = os.path.join(directory, clip_name())
    for name in (path, path + ".json"):
        if os.path.exists(name):
            os.remove(name)
    started = time.time()
    truth = make_clip(path)
    made = time.time() - started
    started = time.time()
    again = make_clip(path)
    cached = time.time() - started
    print(f"clip {path}: {len(truth)} frames, {os.path.getsize(path) / 1e6:.1f} MB, made in {made:.2f} s, reused in {cached:.3f} s")
    assert again == truth
    failures = 0

    def check(ok, message):
        nonlocal failures
        if not ok:
            failures += 1
            print("FAIL", message)

    width, height = truth[0]["camera"]["size"]
    xs = [f["target"][0] for f in truth]
    ys = [f["target"][1] for f in truth]
    rot = [f["camera"]["rotation_deg"] for f in truth]
    zoom = [f["camera"]["zoom"] for f in truth]
    print(f"target x {min(xs):.3f}..{max(xs):.3f}, y {min(ys):.3f}..{max(ys):.3f}; rotation {min(rot):.2f}..{max(rot):.2f} deg; "
          f"zoom {min(zoom):.3f}..{max(zoom):.3f}; frame 0 target {truth[0]['target'][0]:.4f}, {truth[0]['target'][1]:.4f}")
    steps = [math.hypot((b["target"][0] - a["target"][0]) * width, (b["target"][1] - a["target"][1]) * height)
             for a, b in zip(truth, truth[1:] + truth[:1])]
    turns = [abs(b - a) for a, b in zip(rot, rot[1:] + rot[:1])]
    scales = [abs(math.log(b / a)) * 100 for a, b in zip(zoom, zoom[1:] + zoom[:1])]
    print(f"per frame: target moves mean {np.mean(steps):.2f} px, max {max(steps):.2f} px (across the loop {steps[-1]:.2f} px); "
          f"rotation max {max(turns):.2f} deg; zoom max {max(scales):.2f} %")
    ten = [f for f in truth if f["time"] < 10]
    print(f"first 10 s: target x {min(f['target'][0] for f in ten):.3f}..{max(f['target'][0] for f in ten):.3f}, "
          f"y {min(f['target'][1] for f in ten):.3f}..{max(f['target'][1] for f in ten):.3f}, "
          f"screen-fixed arrow error max {max(math.hypot(f['target'][0] - truth[0]['target'][0], (f['target'][1] - truth[0]['target'][1]) * height / width) for f in ten):.3f} of the width")
    # An arrow tail 0.15 of the width from the tip, drawn at frame 0 in any of 8 directions: room left in the picture.
    margin = 1.0
    for k in range(8):
        angle = k * math.pi / 4
        tail = [truth[0]["target"][0] + 0.15 * math.cos(angle), truth[0]["target"][1] + 0.15 * width / height * math.sin(angle)]
        for f in truth:
            x, y = map_point(truth, 0, f["index"], tail)
            margin = min(margin, x * width / width, (1 - x), y * height / width, (1 - y) * height / width)
    print(f"an arrow tail 0.15 W from the tip stays at least {margin:.3f} W inside the picture (any direction, whole clip)")
    check(margin > 0, "arrow tail leaves the picture")
    check(min(xs) > 0.25 and max(xs) < 0.75 and min(ys) > 0.3 and max(ys) < 0.7, "target extents")

    # Watermark and truth, from the Y4M itself.
    decoded_limited = decoded_full = 0
    worst = 255.0
    ring_error = []
    grey_errors = []
    for i, (y, u, v) in enumerate(read_y4m(path)):
        for limited in (True, False):
            index, _, separations = decode_index_rgb(yuv_to_rgb(y, u, v, limited), details=True)
            worst = min(worst, min(separations))
            check(index == i, f"frame {i} decodes as {index} (limited={limited})")
            if limited:
                decoded_limited += index == i
            else:
                decoded_full += index == i
        rgb = yuv_to_rgb(y, u, v, True).astype(np.float32)  # as Chromium shows it
        grey = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
        side = watermark_block(width)
        grey_errors.append(np.abs(grey - (y.astype(np.float32) - 16) * 255 / 219)[:ROWS * side, :COLUMNS * side].ravel())
        if not truth[i]["occluded"]:
            expected = (truth[i]["target"][0] * width, truth[i]["target"][1] * height)
            centre = _ring_centre(u, width, expected)
            ring_error.append(math.hypot(centre[0] - expected[0], centre[1] - expected[1]) if centre else math.inf)
    print(f"watermark from the Y4M: {decoded_limited}/{len(truth)} (limited-range RGB), {decoded_full}/{len(truth)} (full range); "
          f"weakest block |U-V| {worst:.0f}")
    grey_errors = np.concatenate(grey_errors)
    print(f"grey (0.299R+0.587G+0.114B) minus luma in the watermark strip (RGB clipping): mean {grey_errors.mean():.2f}, "
          f"99th percentile {np.percentile(grey_errors, 99):.1f}, max {grey_errors.max():.1f} levels; "
          f"{(grey_errors > 4).mean() * 100:.1f} % of its pixels off by > 4")
    print(f"truth vs the yellow ring's centroid in the pictures: mean {np.mean(ring_error):.2f} px, max {max(ring_error):.2f} px over {len(ring_error)} frames")
    check(max(ring_error) < 0.75, "truth disagrees with the picture")

    # Invalid strips: grey, all ones, all zeros, the scene without marks.
    check(decode_index_rgb(np.full((height, width, 3), 128, np.uint8)) == -1, "grey decodes")
    check(_bits_to_index([1] * 16) == -1 and _bits_to_index([0] * 16) == -1, "all-0/all-1 decode")
    singles = sum(_bits_to_index([b ^ (k == j) for k, b in enumerate(watermark_bits(i))]) != -1 for i in range(256) for j in range(16))
    check(singles == 0, f"{singles} single-bit errors pass the CRC")

    # Through codecs and scaling (ffmpeg), every frame.
    frames = range(len(truth))
    cases = [("mjpeg q10 (~JPEG 0.5)", 0.5, ["-c:v", "mjpeg", "-q:v", "10"]),
             ("mjpeg q18", 0.75, ["-c:v", "mjpeg", "-q:v", "18"]),
             ("vp8 150k", 0.5, ["-c:v", "libvpx", "-b:v", "150k", "-deadline", "realtime", "-cpu-used", "8"]),
             ("vp8 300k", 1.0, ["-c:v", "libvpx", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8"]),
             ("vp9 200k", 0.5, ["-c:v", "libvpx-vp9", "-b:v", "200k", "-deadline", "realtime", "-cpu-used", "8"]),
             ("h264 crf 36", 0.5, ["-c:v", "libx264", "-preset", "veryfast", "-crf", "36"]),
             ("h264 crf 30", 1.0, ["-c:v", "libx264", "-preset", "veryfast", "-crf", "30"])]
    for name, scale, args in cases:
        pictures = _ffmpeg_round_trip(path, width, height, scale, args, frames)
        results = {i: decode_index_rgb(rgb, details=True) for i, rgb in pictures.items()}
        good = sum(r[0] == i for i, r in results.items())
        wrong = sum(r[0] not in (i, -1) for i, r in results.items())
        weakest = min(min(r[2]) for r in results.values())
        print(f"{name} at {scale:g}x: {good}/{len(results)} read, {wrong} wrong, weakest block |U-V| {weakest:.0f}")
        check(wrong == 0 and good >= 0.98 * len(results), f"{name}")
    print("self-check:", "OK" if not failures else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
