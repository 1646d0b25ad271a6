// The overlay of one stream (protocol/README.md §5.10, §5.11): shapes in drawing order,
// the freeze, and drawing onto a canvas. Coordinates are normalised to the stream.

const POINTER_MS = 1500;

export class Overlay {
  constructor() {
    /** id → shape, in drawing order (Map keeps insertion order). */
    this.shapes = new Map();
    /** Laser pointers: shown for a moment, never kept. */
    this.pointers = [];
    this.frozenSequence = null;
    this.version = 0;
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
    this.frozenSequence = sequence;
    this.version += 1;
  }

  unfreeze() {
    this.frozenSequence = null;
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

/** Draws `shapes` over the whole canvas (cleared first). */
export function drawShapes(context, shapes, width, height) {
  context.clearRect(0, 0, width, height);
  for (const shape of shapes) drawShape(context, shape, width, height);
}

function drawShape(context, shape, width, height) {
  const points = shape.points.map(([x, y]) => [x * width, y * height]);
  const lineWidth = Math.max(1, (shape.width / 1000) * width);
  context.save();
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
      context.globalAlpha = 0.85;
      context.fill();
      break;
  }
  context.restore();
}
