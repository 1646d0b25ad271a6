// The overlay of one stream (protocol/README.md §5.10, §5.11, §5.15): shapes in drawing
// order, the freeze, the publisher's scene tracking, and drawing onto a canvas. Coordinates
// are normalised to the stream.

const POINTER_MS = 1500;
// Tracks kept for the frames shown a little behind the newest (video decoding, freeze).
const KEEP_TRACKS = 240;

/** `m` ([a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f) applied to `[x, y]`. */
export function applyMap(m, [x, y]) {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/** The inverse of an invertible map. */
export function invertMap(m) {
  const det = m[0] * m[4] - m[1] * m[3];
  const [a, b, d, e] = [m[4] / det, -m[1] / det, -m[3] / det, m[0] / det];
  return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])];
}

/**
 * Where a shape is drawn on a frame whose track is `track` (§5.15, protocol/vectors/anchors.json):
 * an anchored shape of the track's epoch through track.m ∘ anchor.m⁻¹ (faded when the track is
 * lost); any other shape where it was drawn (an anchored one of another epoch marked lost).
 */
export function anchoredPoints(shape, track) {
  if (!shape.anchor) return { points: shape.points, lost: false, anchored: false };
  if (!track || track.epoch !== shape.anchor.epoch) return { points: shape.points, lost: Boolean(track), anchored: true };
  const toWorld = invertMap(shape.anchor.m);
  const points = shape.points.map((point) => applyMap(track.m, applyMap(toWorld, point)));
  return { points, lost: track.state === "lost", anchored: true };
}

export class Overlay {
  constructor() {
    /** id → shape, in drawing order (Map keeps insertion order). */
    this.shapes = new Map();
    /** Laser pointers: shown for a moment, never kept. */
    this.pointers = [];
    this.frozenSequence = null;
    this.version = 0;
    /** The publisher's tracks (§5.15): frame sequence → track, and the newest. */
    this.tracks = new Map();
    this.track = null;
  }

  /** A `track` of the stream (§5.15): its frame's map from the scene. */
  applyTrack(track) {
    this.tracks.delete(track.sequence);
    this.tracks.set(track.sequence, track);
    if (this.tracks.size > KEEP_TRACKS) this.tracks.delete(this.tracks.keys().next().value);
    this.track = track;
    // The frozen frame's own track may come after the freeze: it pins the view from then on.
    if (track.sequence === this.frozenSequence) this.frozenTrack = track;
    this.version += 1;
  }

  /** The track of frame `sequence`, else the newest before it; the newest for no frame; else null. */
  trackFor(sequence) {
    if (sequence === null || sequence === undefined) return this.track;
    // A freeze pins the view (§5.11, §5.15): the frozen frame keeps the track it had.
    if (sequence === this.frozenSequence && this.frozenTrack) return this.frozenTrack;
    const exact = this.tracks.get(sequence);
    if (exact) return exact;
    let best = null;
    for (const track of this.tracks.values()) {
      if (track.sequence <= sequence && (!best || track.sequence > best.sequence)) best = track;
    }
    // No track at or before the frame: its shapes are drawn where they were drawn (§5.15).
    return best;
  }

  /** The newest track when it is tracking (what a new shape is anchored to), else null. */
  anchorFor(sequence) {
    const track = this.trackFor(sequence);
    return track && track.state === "tracking" ? { epoch: track.epoch, m: track.m } : null;
  }

  /** Applies an annotation, ours or relayed. `author` is the role that drew it. */
  apply(annotation, author, now = performance.now()) {
    const who = annotation.author ?? author;
    switch (annotation.op) {
      case "add": {
        const shape = { ...annotation.shape, author: annotation.shape.author ?? who, drawnAt: now };
        if (shape.kind === "pointer") {
          this.pointers = this.pointers.filter((pointer) => pointer.author !== shape.author);
          this.pointers.push(shape);
        } else {
          this.shapes.delete(shape.id);
          this.shapes.set(shape.id, shape);
        }
        break;
      }
      case "append": {
        const shape = this.shapes.get(annotation.id);
        if (shape) shape.points = shape.points.concat(annotation.points ?? []);
        break;
      }
      case "remove":
      case "undo": {
        const id = annotation.id ?? this.lastShapeOf(who)?.id;
        if (id !== undefined) this.shapes.delete(id);
        break;
      }
      case "clear":
        this.shapes.clear();
        break;
    }
    this.version += 1;
  }

  lastShapeOf(author) {
    let last;
    for (const shape of this.shapes.values()) if (shape.author === author) last = shape;
    return last;
  }

  /**
   * Replaces everything with a snapshot from the broker; a `continued` one (the rest of a
   * large overlay, §5.10) adds its shapes after those already there.
   */
  load(snapshot, now = performance.now()) {
    const shapes = snapshot.shapes.map((shape) => [shape.id, { ...shape, drawnAt: now }]);
    if (snapshot.continued) {
      for (const [id, shape] of shapes) {
        this.shapes.delete(id);
        this.shapes.set(id, shape);
      }
    } else {
      this.shapes = new Map(shapes);
      this.frozenSequence = snapshot.frozenSequence ?? null;
    }
    this.version += 1;
  }

  freeze(sequence) {
    this.frozenSequence = null;
    this.frozenTrack = this.trackFor(sequence);
    this.frozenSequence = sequence;
    this.version += 1;
  }

  unfreeze() {
    this.frozenSequence = null;
    this.frozenTrack = null;
    this.version += 1;
  }

  /** Shapes still visible now (expired ttlMs shapes and old pointers left out). */
  visible(now = performance.now()) {
    const shapes = [...this.shapes.values()].filter((shape) => !shape.ttlMs || now - shape.drawnAt < shape.ttlMs);
    this.pointers = this.pointers.filter((pointer) => now - pointer.drawnAt < POINTER_MS);
    return shapes.concat(this.pointers);
  }

  /** A summary for tests and status lines: kinds of visible shapes, in order. */
  describe() {
    return this.visible().map((shape) => `${shape.kind}:${shape.id}:${shape.author ?? ""}`).join(" ");
  }
}

/**
 * Draws `shapes` over the whole canvas (cleared first), anchored ones through `track` (the
 * track of the frame shown, §5.15). Returns what was drawn where: id → {points, lost, anchored}.
 */
export function drawShapes(context, shapes, width, height, track = null) {
  context.clearRect(0, 0, width, height);
  const drawn = {};
  for (const shape of shapes) {
    const placed = anchoredPoints(shape, track);
    if (shape.id !== undefined) drawn[shape.id] = placed;
    drawShape(context, shape, width, height, placed);
  }
  return drawn;
}

function drawShape(context, shape, width, height, placed = { points: shape.points, lost: false }) {
  const points = placed.points.map(([x, y]) => [x * width, y * height]);
  const lineWidth = Math.max(1, (shape.width / 1000) * width);
  context.save();
  // A shape whose place in the scene is lost is shown faded, and says so (§5.15).
  if (placed.lost) context.globalAlpha = 0.35;
  context.strokeStyle = shape.color;
  context.fillStyle = shape.color;
  context.lineWidth = lineWidth;
  context.lineCap = "round";
  context.lineJoin = "round";
  switch (shape.kind) {
    case "stroke":
      context.beginPath();
      points.forEach(([x, y], index) => (index === 0 ? context.moveTo(x, y) : context.lineTo(x, y)));
      if (points.length === 1) context.lineTo(points[0][0] + 0.1, points[0][1]);
      context.stroke();
      break;
    case "arrow": {
      if (points.length < 2) break;
      const [[x1, y1], [x2, y2]] = points;
      const angle = Math.atan2(y2 - y1, x2 - x1);
      const head = Math.max(lineWidth * 4, 12);
      context.beginPath();
      context.moveTo(x1, y1);
      context.lineTo(x2, y2);
      context.stroke();
      context.beginPath();
      context.moveTo(x2, y2);
      context.lineTo(x2 - head * Math.cos(angle - Math.PI / 7), y2 - head * Math.sin(angle - Math.PI / 7));
      context.lineTo(x2 - head * Math.cos(angle + Math.PI / 7), y2 - head * Math.sin(angle + Math.PI / 7));
      context.closePath();
      context.fill();
      break;
    }
    case "rect":
      if (points.length < 2) break;
      context.strokeRect(points[0][0], points[0][1], points[1][0] - points[0][0], points[1][1] - points[0][1]);
      break;
    case "ellipse": {
      if (points.length < 2) break;
      const [[x1, y1], [x2, y2]] = points;
      context.beginPath();
      context.ellipse((x1 + x2) / 2, (y1 + y2) / 2, Math.abs(x2 - x1) / 2, Math.abs(y2 - y1) / 2, 0, 0, Math.PI * 2);
      context.stroke();
      break;
    }
    case "text":
      context.font = `${Math.max(14, lineWidth * 6)}px system-ui, sans-serif`;
      context.textBaseline = "top";
      context.lineWidth = Math.max(2, lineWidth / 2);
      context.strokeStyle = "rgba(0,0,0,0.6)";
      context.strokeText(shape.text ?? "", points[0][0], points[0][1]);
      context.fillText(shape.text ?? "", points[0][0], points[0][1]);
      break;
    case "pointer":
      context.beginPath();
      context.arc(points[0][0], points[0][1], Math.max(6, lineWidth * 2), 0, Math.PI * 2);
      context.globalAlpha = placed.lost ? 0.3 : 0.85;
      context.fill();
      break;
  }
  if (placed.lost && points.length > 0) {
    const [x, y] = points[points.length - 1];
    context.globalAlpha = 0.9;
    context.font = "bold 13px system-ui, sans-serif";
    context.textBaseline = "bottom";
    context.lineWidth = 3;
    context.strokeStyle = "rgba(0,0,0,0.7)";
    context.fillStyle = "#ffffff";
    context.strokeText("lost", x + 6, y - 6);
    context.fillText("lost", x + 6, y - 6);
  }
  context.restore();
}
