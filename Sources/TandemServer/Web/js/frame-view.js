// Shows a stream's frames on a canvas, keeps the last few for freeze-frame, and draws the
// stream's overlay on a second canvas stacked on top.
import { Overlay, drawShapes } from "./overlay.js";

const MIME = { jpeg: "image/jpeg", png: "image/png", webp: "image/webp" };
/** The codecs this view draws (protocol/README.md §4.1): images only, for now. */
export const IMAGE_CODECS = new Set(Object.keys(MIME));
const KEEP_FRAMES = 90;

export class FrameView {
  constructor(canvas, overlayCanvas) {
    this.canvas = canvas;
    this.overlayCanvas = overlayCanvas;
    this.overlay = new Overlay();
    this.recent = new Map();
    this.frames = 0;
    this.lastSequence = null;
    this.shownSequence = null;
    this.drawnVersion = -1;
    this.decoding = false;
    this.pending = null;
    this.tick = this.tick.bind(this);
    requestAnimationFrame(this.tick);
  }

  /** A decoded frame (protocol.js) or a locally captured blob with its sequence. */
  async showFrame(sequence, blobOrFrame) {
    // Only images are drawn here: video and audio codecs (protocol/README.md §4.1) are
    // skipped, not shown as a broken image.
    if (!(blobOrFrame instanceof Blob) && !MIME[blobOrFrame.codec]) return;
    this.frames += 1;
    this.lastSequence = sequence;
    this.canvas.dataset.frames = String(this.frames);
    const blob = blobOrFrame instanceof Blob ? blobOrFrame : new Blob([blobOrFrame.payload], { type: MIME[blobOrFrame.codec] });
    // Decode one at a time; a frame that arrives meanwhile replaces the waiting one (latest wins).
    if (this.decoding) {
      this.pending = { sequence, blob };
      return;
    }
    this.decoding = true;
    try {
      let next = { sequence, blob };
      while (next) {
        this.pending = null;
        const bitmap = await createImageBitmap(next.blob);
        this.remember(next.sequence, bitmap);
        if (this.overlay.frozenSequence === null) this.draw(next.sequence, bitmap);
        next = this.pending;
      }
    } catch (error) {
      console.warn("Tandem: a frame could not be decoded", error);
    } finally {
      this.decoding = false;
    }
  }

  remember(sequence, bitmap) {
    this.recent.set(sequence, bitmap);
    while (this.recent.size > KEEP_FRAMES) {
      const [oldest, old] = this.recent.entries().next().value;
      this.recent.delete(oldest);
      if (oldest !== this.overlay.frozenSequence) old.close?.();
    }
  }

  draw(sequence, bitmap) {
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      this.canvas.width = bitmap.width;
      this.canvas.height = bitmap.height;
      this.overlayCanvas.width = bitmap.width;
      this.overlayCanvas.height = bitmap.height;
      this.drawnVersion = -1;
    }
    this.canvas.getContext("2d").drawImage(bitmap, 0, 0);
    this.shownSequence = sequence;
    this.canvas.dataset.sequence = String(sequence);
  }

  freeze(sequence) {
    this.overlay.freeze(sequence);
    const bitmap = this.recent.get(sequence);
    if (bitmap) this.draw(sequence, bitmap);
    this.canvas.dataset.frozen = String(sequence);
  }

  unfreeze() {
    this.overlay.unfreeze();
    delete this.canvas.dataset.frozen;
  }

  /** Redraws the overlay when it changed or has shapes that expire. */
  tick() {
    const shapes = this.overlay.visible();
    const animated = shapes.some((shape) => shape.ttlMs || shape.kind === "pointer");
    if (this.overlay.version !== this.drawnVersion || animated || this.extraShapes) {
      const context = this.overlayCanvas.getContext("2d");
      drawShapes(context, shapes.concat(this.extraShapes ?? []), this.overlayCanvas.width, this.overlayCanvas.height);
      this.overlayCanvas.dataset.shapes = this.overlay.describe();
      this.drawnVersion = this.overlay.version;
    }
    requestAnimationFrame(this.tick);
  }
}
