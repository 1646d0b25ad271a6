// Scene-motion tracking for anchored annotations (issue 17): the computation, with no DOM and no
// messaging, so that tracker-worker.js runs it in a worker and a test page (or Node) can run it
// directly. Plain JS on typed arrays; the big buffers are allocated per epoch (picture size) and
// per keyframe, not per frame.
//
// Model. The world of an epoch is its first textured frame. For each frame F the tracker reports
// the similarity M (world pixels -> F pixels, in pixels of the tracking picture); the worker
// converts it to picture-normalised coordinates (toNormalised: N M N^-1). Motion is estimated
// against a KEYFRAME K (a stored earlier frame with its features), not chained frame to frame:
//   M(F) = R(K->F) . G(K), with G(K) = world -> K, fixed when K was made.
// Keyframes are kept (up to MAX_KEYFRAMES) and reused when the view returns to them (the one
// nearest the world in the chain of keyframes first), so that panning back and forth does not
// accumulate drift; a new keyframe is made only when no stored one sees the current view well.
//
// Per frame (parameters in PARAMS):
//  1. Grayscale (BT.601 integer weights), a pyramid of LEVELS levels (each a [1 3 3 1]/8 separable
//     blur + 2x decimation; a level-L pixel i is centred on level-0 x = (i+0.5)*2^L-0.5), and
//     central-difference gradients on every level.
//  2. Prediction of R(K->F): the last map with a damped constant-velocity step (VELOCITY_DAMPING),
//     corrected by a small exhaustive translation search (+-SEARCH_TRACK_RADIUS px on level
//     LK_LEVELS-1, sum of per-feature NCC of 5x5 sub-sampled templates of SEARCH_FEATURES
//     features) against jerks of the hand.
//  3. Pyramidal Lucas-Kanade of every keyframe feature into F on LK_LEVELS levels, coarse to
//     fine, from the predicted position. The template (WIN x WIN, from K, cached with its gradients
//     and inverse Hessian when K is made) is sampled in F through the linear part of the predicted
//     similarity, so rotation and scale relative to K do not break the match ("affine-guided",
//     inverse compositional, translation update). Brightness bias and gain are compensated per
//     patch (zero mean, gain clamped to [0.5, 2]). At most ITERATIONS per level, stop below EPSILON.
//  4. Checks per track: zero-mean NCC at level 0 >= MIN_NCC, and a forward-backward check: the
//     patch around the found position in F is tracked back into K (inverse warp, from the
//     predicted position); the round trip must end within FB_MAX px of the feature.
//  5. RANSAC similarity (2-point minimal sets, RANSAC_THRESHOLD px, adaptive up to
//     RANSAC_ITERATIONS, deterministic xorshift), then least-squares refits on the inliers.
//  6. Accepted when inliers >= MIN_INLIERS, inliers / features predicted inside the frame >=
//     MIN_RATIO, and the step from the guess is plausible (scale within MAX_SCALE_STEP, rotation
//     within MAX_ROTATION_STEP). Otherwise the wide search of step 8 runs at once (a jerk); if that
//     fails too the frame is "lost" and M stays the last good map.
//  7. Keyframe care: when features leave the view (visible fraction < KEY_MIN_VISIBLE), inliers
//     thin out (< KEY_MIN_INLIERS or < KEY_MIN_RATIO of the features), or the view is scaled or
//     rotated too far from K (KEY_MAX_SCALE, KEY_MAX_ROTATION), switch to a stored keyframe that
//     sees the view well (REUSE_MIN_VISIBLE; verified by tracking it), else make the current frame
//     a keyframe: Shi-Tomasi min-eigenvalue (5x5 window) on level 0, the best corner of each cell
//     of a grid (~MAX_FEATURES cells), above an absolute floor (MIN_CORNER), NOISE_FACTOR times
//     the median score (the picture's noise: rejects flat or dark noisy pictures) and a fraction
//     of the strong corners (CORNER_QUALITY), at least MIN_DISTANCE apart. Every RECHECK_FRAMES
//     frames a stored keyframe nearer the world is tried as well.
//  8. Lost: each frame tries to relocalise, within RELOCALISE_BUDGET_MS:
//     a. the last good keyframe from the last good map: an exhaustive translation search on the
//        coarsest level (up to half the picture each way), then steps 3-6 from the best shift with
//        stricter thresholds (RELOCALISE_MIN_INLIERS or half a sparse keyframe's features,
//        RELOCALISE_MIN_RATIO); a near miss (>= REFINE_MIN_INLIERS consistent tracks) is tracked
//        again from its own estimate, which corrects rotation and scale;
//     b. for views that moved, turned or zoomed further: up to DESCRIPTOR_CORNERS corners of the
//        frame on level 1 with steered-BRIEF descriptors (256 bits, intensity-centroid
//        orientation, DESCRIPTOR_RADIUS patch), matched (Hamming, DESCRIPTOR_MAX_DISTANCE,
//        DESCRIPTOR_RATIO) with the keyframe's (described at DESCRIPTOR_SCALES on first use), a
//        RANSAC similarity of the matches (MATCH_RANSAC_THRESHOLD, >= MATCH_MIN_INLIERS), then
//        the check of (a) from that estimate; the last good keyframe every frame and one other
//        stored keyframe in turn.
//     After GIVE_UP_MS lost: new epoch, the current frame (when textured) becomes the world.
// A textureless first frame (too few corners) cannot be a world: lost, identity, retried next frame.
// A picture of another size than the epoch's (another aspect ratio: the page scales every source
// to fit the tracking size) starts a new epoch: a world cannot be carried across that.

export const PARAMS = Object.freeze({
  LEVELS: 5, // pyramid levels (the coarsest is only used by the relocalisation search)
  LK_LEVELS: 4, // levels Lucas-Kanade runs on
  WIN: 11, // template side (odd), px at every level
  ITERATIONS: 8,
  EPSILON: 0.03,
  MAX_FEATURES: 240,
  MIN_FEATURES: 16, // a frame with fewer corners is textureless
  MIN_DISTANCE: 10,
  MIN_CORNER: 100, // min eigenvalue of the 5x5 structure tensor (gray levels^2 / px^2, summed)
  NOISE_FACTOR: 4, // ... and at least this many times the picture's median (its noise floor)
  CORNER_QUALITY: 0.01,
  BORDER: 8,
  MIN_NCC: 0.75,
  FB_MAX: 1.0,
  RANSAC_THRESHOLD: 2.0,
  RANSAC_ITERATIONS: 200,
  MIN_INLIERS: 10,
  MIN_RATIO: 0.3,
  MAX_SCALE_STEP: 1.35,
  MAX_ROTATION_STEP: (30 * Math.PI) / 180,
  VELOCITY_DAMPING: 0.6,
  KEY_MIN_VISIBLE: 0.65,
  KEY_MIN_INLIERS: 50,
  KEY_MIN_RATIO: 0.4,
  KEY_MAX_SCALE: 1.2,
  KEY_MAX_ROTATION: (12 * Math.PI) / 180,
  REUSE_MIN_VISIBLE: 0.75,
  RECHECK_FRAMES: 10,
  MAX_KEYFRAMES: 6,
  SEARCH_FEATURES: 48,
  SEARCH_TRACK_RADIUS: 5, // level LK_LEVELS-1 px of the search that corrects the prediction
  REFINE_MIN_INLIERS: 6,
  DESCRIPTOR_RADIUS: 12, // level-1 px of the binary descriptors' patch
  DESCRIPTOR_SCALES: [0.8, 1, 1.25], // the keyframe's descriptors, for zoom since
  DESCRIPTOR_MAX_DISTANCE: 70, // of 256 bits
  DESCRIPTOR_RATIO: 0.85, // best / second best (other feature)
  DESCRIPTOR_CORNERS: 200, // corners of the current frame (level 1) described when lost
  MATCH_RANSAC_THRESHOLD: 5,
  MATCH_MIN_INLIERS: 8,
  RELOCALISE_MIN_INLIERS: 20,
  RELOCALISE_MIN_RATIO: 0.35,
  RELOCALISE_BUDGET_MS: 45, // no further guesses once the frame has taken this long (under the 66 ms of a 15 fps frame: while lost nothing else is tracked)
  GIVE_UP_MS: 10000,
});

// ---------------------------------------------------------------------------------------------
// Affine maps [a, b, c, d, e, f]: x' = a x + b y + c, y' = d x + e y + f.

export function identity() {
  return [1, 0, 0, 0, 1, 0];
}

/** p after q: x -> p(q(x)). */
export function compose(p, q) {
  return [
    p[0] * q[0] + p[1] * q[3],
    p[0] * q[1] + p[1] * q[4],
    p[0] * q[2] + p[1] * q[5] + p[2],
    p[3] * q[0] + p[4] * q[3],
    p[3] * q[1] + p[4] * q[4],
    p[3] * q[2] + p[4] * q[5] + p[5],
  ];
}

export function invert(m) {
  const det = m[0] * m[4] - m[1] * m[3];
  const a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;
  return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])];
}

export function apply(m, x, y) {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/** Scale and rotation of the linear part of a (near-)similarity. */
export function scaleOf(m) {
  return Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));
}
export function rotationOf(m) {
  return Math.atan2(m[3] - m[1], m[0] + m[4]);
}

/**
 * A map in pixels of a w x h picture (pixel centres at integers) as a map in picture-normalised
 * coordinates ((0,0) top-left corner, (1,1) bottom-right): N T N^-1 with N(x) = (x + 0.5) / w.
 */
export function toNormalised(t, w, h) {
  const [a, b, c, d, e, f] = t;
  return [
    a,
    (b * h) / w,
    (c + 0.5 - 0.5 * a - 0.5 * b) / w,
    (d * w) / h,
    e,
    (f + 0.5 - 0.5 * d - 0.5 * e) / h,
  ];
}

/** Moves a map a fraction k of the way from the identity (a damped motion step). */
function damp(m, k) {
  return [1 + k * (m[0] - 1), k * m[1], k * m[2], k * m[3], 1 + k * (m[4] - 1), k * m[5]];
}

// ---------------------------------------------------------------------------------------------
// Images.

/** Number of pyramid levels a w x h picture supports (coarsest at least 24 x 16). */
export function levelCount(w, h, wanted = PARAMS.LEVELS) {
  let n = 1;
  while (n < wanted && w >> n >= 24 && h >> n >= 16) n++;
  return n;
}

/** Image levels of a pyramid (owned by a frame, then by a keyframe). */
export function makeLevels(w, h, n) {
  const levels = [];
  for (let i = 0; i < n; i++) levels.push({ w: w >> i, h: h >> i, img: new Float32Array((w >> i) * (h >> i)) });
  return levels;
}

/** RGBA bytes -> gray level 0 (0..255). */
export function grayscale(rgba, out, count) {
  for (let i = 0, j = 0; i < count; i++, j += 4) out[i] = (77 * rgba[j] + 150 * rgba[j + 1] + 29 * rgba[j + 2]) >> 8;
}

/** Fills levels 1.. from level 0. `tmp` holds at least (w >> 1) * h floats. */
export function buildPyramid(levels, tmp) {
  for (let l = 1; l < levels.length; l++) {
    const src = levels[l - 1], dst = levels[l];
    const sw = src.w, sh = src.h, dw = dst.w, dh = dst.h, s = src.img, o = dst.img;
    for (let y = 0; y < sh; y++) {
      const row = y * sw, orow = y * dw;
      for (let i = 0; i < dw; i++) {
        const x1 = 2 * i, x0 = x1 > 0 ? x1 - 1 : 0, x3 = x1 + 2 < sw ? x1 + 2 : sw - 1;
        tmp[orow + i] = (s[row + x0] + 3 * (s[row + x1] + s[row + x1 + 1]) + s[row + x3]) * 0.125;
      }
    }
    for (let j = 0; j < dh; j++) {
      const y1 = 2 * j, y0 = y1 > 0 ? y1 - 1 : 0, y3 = y1 + 2 < sh ? y1 + 2 : sh - 1;
      const r0 = y0 * dw, r1 = y1 * dw, r2 = (y1 + 1) * dw, r3 = y3 * dw, orow = j * dw;
      for (let i = 0; i < dw; i++) o[orow + i] = (tmp[r0 + i] + 3 * (tmp[r1 + i] + tmp[r2 + i]) + tmp[r3 + i]) * 0.125;
    }
  }
}

/** Central-difference gradients of one level into gx, gy (zero on the border). */
export function gradients(level, gx, gy) {
  const { w, h, img } = level;
  gx.fill(0, 0, w * h);
  gy.fill(0, 0, w * h);
  for (let y = 1; y < h - 1; y++) {
    const row = y * w;
    for (let x = 1; x < w - 1; x++) {
      const i = row + x;
      gx[i] = 0.5 * (img[i + 1] - img[i - 1]);
      gy[i] = 0.5 * (img[i + w] - img[i - w]);
    }
  }
}

/** Bilinear sample with the coordinates clamped into the picture. */
function sample(img, w, h, x, y) {
  if (x < 0) x = 0;
  else if (x > w - 1.001) x = w - 1.001;
  if (y < 0) y = 0;
  else if (y > h - 1.001) y = h - 1.001;
  const x0 = x | 0, y0 = y | 0, fx = x - x0, fy = y - y0, i = y0 * w + x0;
  const top = img[i] + fx * (img[i + 1] - img[i]);
  const bottom = img[i + w] + fx * (img[i + w + 1] - img[i + w]);
  return top + fy * (bottom - top);
}

// ---------------------------------------------------------------------------------------------
// Corners.

/**
 * Shi-Tomasi corners of level 0 (gx, gy its gradients): the best of each grid cell. Writes up to
 * MAX_FEATURES positions into xs, ys; returns the count. `scratch` from makeDetectorScratch.
 */
export function detectCorners(w, h, gx, gy, scratch, xs, ys, P = PARAMS) {
  const { sxx, syy, sxy, out, rowA, rowB, rowC } = scratch;
  const n = w * h;
  // Gradient products, their horizontal 5-sums (running), then vertical 5-sums and the smaller
  // eigenvalue of the structure tensor.
  for (let i = 0; i < n; i++) {
    const u = gx[i], v = gy[i];
    sxx[i] = u * u;
    syy[i] = v * v;
    sxy[i] = u * v;
  }
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let a = 0, b = 0, c = 0;
    for (let x = 0; x < 5 && x < w; x++) {
      a += sxx[row + x];
      b += syy[row + x];
      c += sxy[row + x];
    }
    for (let x = 2; x < w - 2; x++) {
      rowA[x] = a;
      rowB[x] = b;
      rowC[x] = c;
      if (x + 3 < w) {
        a += sxx[row + x + 3] - sxx[row + x - 2];
        b += syy[row + x + 3] - syy[row + x - 2];
        c += sxy[row + x + 3] - sxy[row + x - 2];
      }
    }
    for (let x = 2; x < w - 2; x++) {
      sxx[row + x] = rowA[x];
      syy[row + x] = rowB[x];
      sxy[row + x] = rowC[x];
    }
  }
  const B = Math.max(P.BORDER, 3);
  out.fill(0, 0, n);
  for (let y = B; y < h - B; y++) {
    for (let x = B; x < w - B; x++) {
      let a = 0, b = 0, c = 0;
      for (let i = (y - 2) * w + x, e = (y + 3) * w + x; i < e; i += w) {
        a += sxx[i];
        b += syy[i];
        c += sxy[i];
      }
      const d = a - b;
      out[y * w + x] = 0.5 * (a + b - Math.sqrt(d * d + 4 * c * c));
    }
  }
  // Grid: the best pixel of each cell.
  const cell = Math.max(12, Math.round(Math.sqrt(((w - 2 * B) * (h - 2 * B)) / P.MAX_FEATURES)));
  const cols = Math.ceil((w - 2 * B) / cell), rows = Math.ceil((h - 2 * B) / cell);
  const best = [];
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const x0 = B + q * cell, y0 = B + r * cell;
      const x1 = Math.min(x0 + cell, w - B), y1 = Math.min(y0 + cell, h - B);
      let bv = 0, bi = -1;
      for (let y = y0; y < y1; y++) {
        const row = y * w;
        for (let x = x0; x < x1; x++) if (out[row + x] > bv) (bv = out[row + x]), (bi = row + x);
      }
      if (bi >= 0 && bv >= P.MIN_CORNER) best.push({ v: bv, x: bi % w, y: (bi / w) | 0 });
    }
  }
  if (best.length === 0) return 0;
  best.sort((p, q) => q.v - p.v);
  const strong = best[Math.min(best.length - 1, Math.floor(best.length * 0.1))].v;
  // The median score over a sparse grid: the noise floor of a mostly smooth picture.
  const samples = [];
  for (let y = B; y < h - B; y += 7) for (let x = B; x < w - B; x += 7) samples.push(out[y * w + x]);
  samples.sort((p, q) => p - q);
  const median = samples.length ? samples[samples.length >> 1] : 0;
  const floor = Math.max(P.MIN_CORNER, P.NOISE_FACTOR * median, P.CORNER_QUALITY * strong);
  const d2 = P.MIN_DISTANCE * P.MIN_DISTANCE;
  let count = 0;
  for (const p of best) {
    if (p.v < floor || count >= P.MAX_FEATURES) break;
    let near = false;
    for (let j = 0; j < count && !near; j++) {
      const dx = xs[j] - p.x, dy = ys[j] - p.y;
      near = dx * dx + dy * dy < d2;
    }
    if (near) continue;
    xs[count] = p.x;
    ys[count] = p.y;
    count++;
  }
  return count;
}

export function makeDetectorScratch(w, h) {
  const n = w * h;
  return {
    sxx: new Float32Array(n), syy: new Float32Array(n), sxy: new Float32Array(n), out: new Float32Array(n),
    rowA: new Float32Array(w), rowB: new Float32Array(w), rowC: new Float32Array(w),
  };
}

// ---------------------------------------------------------------------------------------------
// Templates: for each feature and level, WIN x WIN samples of the picture and its gradients
// around the feature, and the numbers the tracking loop needs.
// stats (stride STAT): 0 mean, 1 sum gx, 2 sum gy, 3 sum gx (T - mean), 4 sum gy (T - mean),
// 5..7 inverse Hessian (xx, xy, yy) of the zero-mean gradients, 8 valid (0/1), 9 std of T.
const STAT = 10;

export function makeTemplates(capacity, levels, win = PARAMS.WIN) {
  const n = win * win;
  return {
    capacity, levels, win, n,
    t: new Float32Array(capacity * levels * n),
    gx: new Float32Array(capacity * levels * n),
    gy: new Float32Array(capacity * levels * n),
    stats: new Float32Array(capacity * levels * STAT),
  };
}

/**
 * Samples templates around level-0 positions (xs, ys) of the first `count` features, on a pyramid
 * `levels` with gradient images `grads` ([{gx, gy}] per level), axis-aligned.
 */
export function buildTemplates(tpl, levels, grads, xs, ys, count, mask = null) {
  const { win, n, t, gx, gy, stats } = tpl;
  const L = tpl.levels, r = (win - 1) / 2;
  for (let f = 0; f < count; f++) {
    for (let l = 0; l < L; l++) {
      const base = (f * L + l) * n, sb = (f * L + l) * STAT;
      if (mask && !mask[f]) {
        stats[sb + 8] = 0;
        continue;
      }
      const lev = levels[l], g = grads[l], w = lev.w, h = lev.h, s = 1 / (1 << l);
      const cx = (xs[f] + 0.5) * s - 0.5, cy = (ys[f] + 0.5) * s - 0.5;
      let k = 0, st = 0, st2 = 0, sgx = 0, sgy = 0, hxx = 0, hxy = 0, hyy = 0, sgxt = 0, sgyt = 0;
      for (let v = -r; v <= r; v++) {
        for (let u = -r; u <= r; u++, k++) {
          const x = cx + u, y = cy + v;
          const tv = sample(lev.img, w, h, x, y), ax = sample(g.gx, w, h, x, y), ay = sample(g.gy, w, h, x, y);
          t[base + k] = tv;
          gx[base + k] = ax;
          gy[base + k] = ay;
          st += tv;
          st2 += tv * tv;
          sgx += ax;
          sgy += ay;
          hxx += ax * ax;
          hxy += ax * ay;
          hyy += ay * ay;
          sgxt += ax * tv;
          sgyt += ay * tv;
        }
      }
      const mean = st / n;
      hxx -= (sgx * sgx) / n;
      hxy -= (sgx * sgy) / n;
      hyy -= (sgy * sgy) / n;
      const det = hxx * hyy - hxy * hxy;
      const tr = hxx + hyy;
      const minEig = 0.5 * (tr - Math.sqrt(Math.max(0, (hxx - hyy) * (hxx - hyy) + 4 * hxy * hxy)));
      stats[sb] = mean;
      stats[sb + 1] = sgx;
      stats[sb + 2] = sgy;
      stats[sb + 3] = sgxt - mean * sgx;
      stats[sb + 4] = sgyt - mean * sgy;
      const ok = det > 1e-6 && minEig > n * 0.05;
      stats[sb + 5] = ok ? hyy / det : 0;
      stats[sb + 6] = ok ? -hxy / det : 0;
      stats[sb + 7] = ok ? hxx / det : 0;
      stats[sb + 8] = ok ? 1 : 0;
      stats[sb + 9] = Math.sqrt(Math.max(0, st2 / n - mean * mean));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Lucas-Kanade.

/**
 * Tracks templates into a pyramid. The template offset (u, v) is sampled at position
 * + (a u - b v, b u + a v) (the linear part of the predicted similarity). For each feature with
 * status[f] = 1, starts at level-0 position (inX, inY) on level `top`, writes the result into
 * (outX, outY), status[f] = 0 when it fails (left the picture, flat patch) and the level-0 NCC
 * into ncc[f]. `buf` holds at least WIN*WIN floats.
 */
export function trackTemplates(tpl, levels, a, b, count, inX, inY, outX, outY, status, ncc, top, buf, P = PARAMS) {
  const { win, n, t, gx, gy, stats } = tpl;
  const L = tpl.levels, r = (win - 1) / 2;
  const w0 = levels[0].w, h0 = levels[0].h;
  const eps2 = P.EPSILON * P.EPSILON;
  for (let f = 0; f < count; f++) {
    if (!status[f]) continue;
    const s = 1 / (1 << top);
    let x = (inX[f] + 0.5) * s - 0.5, y = (inY[f] + 0.5) * s - 0.5;
    let lastNcc = 0;
    let good = true;
    for (let l = top; l >= 0 && good; l--) {
      if (l < top) {
        x = 2 * x + 0.5;
        y = 2 * y + 0.5;
      }
      const lev = levels[l], w = lev.w, h = lev.h, img = lev.img;
      const base = (f * L + l) * n, sb = (f * L + l) * STAT;
      const valid = stats[sb + 8] > 0;
      if (!valid && l > 0) continue;
      const mT = stats[sb], sgx = stats[sb + 1], sgy = stats[sb + 2], gxt = stats[sb + 3], gyt = stats[sb + 4];
      const ixx = stats[sb + 5], ixy = stats[sb + 6], iyy = stats[sb + 7], sdT = stats[sb + 9];
      const iters = valid ? P.ITERATIONS : 0;
      for (let it = 0; it <= iters; it++) {
        // Sample the warped window of the current picture.
        let sI = 0, sI2 = 0, sgxI = 0, sgyI = 0, k = 0;
        const wx = w - 1.001, hy = h - 1.001;
        for (let v = -r; v <= r; v++) {
          let px = x - b * v - a * r, py = y + a * v - b * r;
          for (let u = -r; u <= r; u++, k++, px += a, py += b) {
            let X = px < 0 ? 0 : px > wx ? wx : px;
            let Y = py < 0 ? 0 : py > hy ? hy : py;
            const x0 = X | 0, y0 = Y | 0, fx = X - x0, fy = Y - y0, i = y0 * w + x0;
            const i00 = img[i], i01 = img[i + 1], i10 = img[i + w], i11 = img[i + w + 1];
            const upper = i00 + fx * (i01 - i00);
            const val = upper + fy * (i10 + fx * (i11 - i10) - upper);
            buf[k] = val;
            sI += val;
            sI2 += val * val;
            sgxI += gx[base + k] * val;
            sgyI += gy[base + k] * val;
          }
        }
        const mI = sI / n;
        const varI = sI2 / n - mI * mI;
        if (it === iters) {
          // Final sample of this level: at level 0 it gives the NCC.
          if (l === 0) {
            let c = 0;
            for (let q = 0; q < n; q++) c += (buf[q] - mI) * (t[base + q] - mT);
            lastNcc = varI > 1e-6 && sdT > 1e-6 ? c / (n * Math.sqrt(varI) * sdT) : 0;
          }
          break;
        }
        if (varI < 1) {
          good = false; // flat patch: nothing to track
          break;
        }
        let gain = sdT / Math.sqrt(varI);
        gain = gain < 0.5 ? 0.5 : gain > 2 ? 2 : gain;
        const bx = gain * (sgxI - mI * sgx) - gxt, by = gain * (sgyI - mI * sgy) - gyt;
        const dx = ixx * bx + ixy * by, dy = ixy * bx + iyy * by;
        x -= a * dx - b * dy;
        y -= b * dx + a * dy;
        if (x < -r || y < -r || x > w + r || y > h + r) {
          good = false;
          break;
        }
        if (dx * dx + dy * dy < eps2) {
          if (l === 0) {
            it = iters - 1; // one more pass for the NCC
          } else break;
        }
      }
    }
    outX[f] = x;
    outY[f] = y;
    ncc[f] = lastNcc;
    if (!good || x < 0 || y < 0 || x > w0 - 1 || y > h0 - 1) status[f] = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Binary descriptors (ORB-like: steered BRIEF) for relocalisation after a large move.

/** 256 point pairs (x1, y1, x2, y2) from an isotropic Gaussian, within 0.7 r of the centre. */
export function descriptorPattern(r, seed = 12345) {
  const random = makeRandom(seed), out = new Float32Array(256 * 4);
  const gauss = () => {
    for (;;) {
      const u = random() || 1e-9, v = random();
      const g = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * (r / 2.5);
      if (Math.abs(g) <= r * 0.7) return g;
    }
  };
  for (let i = 0; i < out.length; i++) out[i] = gauss();
  return out;
}

/** Orientation of the intensity centroid in a disc of radius r around (x, y). */
export function orientation(img, w, h, x, y, r) {
  const cx = Math.round(x), cy = Math.round(y);
  let m10 = 0, m01 = 0;
  for (let v = -r; v <= r; v++) {
    const yy = cy + v < 0 ? 0 : cy + v >= h ? h - 1 : cy + v;
    const span = Math.floor(Math.sqrt(r * r - v * v));
    for (let u = -span; u <= span; u++) {
      const xx = cx + u < 0 ? 0 : cx + u >= w ? w - 1 : cx + u;
      const val = img[yy * w + xx];
      m10 += u * val;
      m01 += v * val;
    }
  }
  return Math.atan2(m01, m10);
}

/** 256-bit descriptor of (x, y), pattern turned by `angle` and scaled by `scale`, into out[o..o+8). */
export function describe(img, w, h, x, y, angle, scale, pattern, out, o) {
  const c = Math.cos(angle) * scale, s = Math.sin(angle) * scale;
  for (let word = 0; word < 8; word++) {
    let bits = 0;
    for (let bit = 0; bit < 32; bit++) {
      const p = (word * 32 + bit) * 4;
      const ax = pattern[p], ay = pattern[p + 1], bx = pattern[p + 2], by = pattern[p + 3];
      let x1 = Math.round(x + c * ax - s * ay), y1 = Math.round(y + s * ax + c * ay);
      let x2 = Math.round(x + c * bx - s * by), y2 = Math.round(y + s * bx + c * by);
      x1 = x1 < 0 ? 0 : x1 >= w ? w - 1 : x1;
      y1 = y1 < 0 ? 0 : y1 >= h ? h - 1 : y1;
      x2 = x2 < 0 ? 0 : x2 >= w ? w - 1 : x2;
      y2 = y2 < 0 ? 0 : y2 >= h ? h - 1 : y2;
      if (img[y1 * w + x1] < img[y2 * w + x2]) bits |= 1 << bit;
    }
    out[o + word] = bits >>> 0;
  }
}

function popcount(x) {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

// ---------------------------------------------------------------------------------------------
// Robust similarity.

/** xorshift32 in [0, 1). */
export function makeRandom(seed = 2463534242) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Least-squares similarity of the pairs i with mask[i]; returns [a, -b, tx, b, a, ty] or null. */
export function fitSimilarity(sx, sy, dx, dy, count, mask) {
  let n = 0, mx = 0, my = 0, nx = 0, ny = 0;
  for (let i = 0; i < count; i++) {
    if (!mask[i]) continue;
    n++;
    mx += sx[i];
    my += sy[i];
    nx += dx[i];
    ny += dy[i];
  }
  if (n < 2) return null;
  mx /= n;
  my /= n;
  nx /= n;
  ny /= n;
  let ss = 0, sa = 0, sb = 0;
  for (let i = 0; i < count; i++) {
    if (!mask[i]) continue;
    const x = sx[i] - mx, y = sy[i] - my, u = dx[i] - nx, v = dy[i] - ny;
    ss += x * x + y * y;
    sa += x * u + y * v;
    sb += x * v - y * u;
  }
  if (ss < 1e-9) return null;
  const a = sa / ss, b = sb / ss;
  return [a, -b, nx - (a * mx - b * my), b, a, ny - (b * mx + a * my)];
}

/**
 * RANSAC similarity from pairs (sx, sy) -> (dx, dy) with ok[i]; writes inliers into `inlier`
 * (Uint8Array) and returns { m, inliers } (m null when no model).
 */
export function ransacSimilarity(sx, sy, dx, dy, count, ok, inlier, random, P = PARAMS) {
  const idx = [];
  for (let i = 0; i < count; i++) if (ok[i]) idx.push(i);
  inlier.fill(0, 0, count);
  if (idx.length < 2) return { m: null, inliers: 0 };
  const th2 = P.RANSAC_THRESHOLD * P.RANSAC_THRESHOLD;
  let bestCount = 0, bestA = 1, bestB = 0, bestTx = 0, bestTy = 0;
  let iterations = P.RANSAC_ITERATIONS;
  for (let it = 0; it < iterations; it++) {
    const i = idx[(random() * idx.length) | 0], j = idx[(random() * idx.length) | 0];
    if (i === j) continue;
    const px = sx[j] - sx[i], py = sy[j] - sy[i], qx = dx[j] - dx[i], qy = dy[j] - dy[i];
    const d = px * px + py * py;
    if (d < 100) continue;
    const a = (qx * px + qy * py) / d, b = (qy * px - qx * py) / d;
    const tx = dx[i] - (a * sx[i] - b * sy[i]), ty = dy[i] - (b * sx[i] + a * sy[i]);
    let c = 0;
    for (const k of idx) {
      const ex = a * sx[k] - b * sy[k] + tx - dx[k], ey = b * sx[k] + a * sy[k] + ty - dy[k];
      if (ex * ex + ey * ey < th2) c++;
    }
    if (c > bestCount) {
      bestCount = c;
      bestA = a;
      bestB = b;
      bestTx = tx;
      bestTy = ty;
      const w = c / idx.length;
      const need = Math.ceil(Math.log(0.001) / Math.log(Math.max(1e-9, 1 - w * w)));
      iterations = Math.min(iterations, Math.max(20, need));
    }
  }
  if (bestCount < 2) return { m: null, inliers: 0 };
  let m = [bestA, -bestB, bestTx, bestB, bestA, bestTy];
  let inliers = 0;
  for (let round = 0; round < 3; round++) {
    inliers = 0;
    for (const k of idx) {
      const ex = m[0] * sx[k] + m[1] * sy[k] + m[2] - dx[k], ey = m[3] * sx[k] + m[4] * sy[k] + m[5] - dy[k];
      const isIn = ex * ex + ey * ey < th2;
      inlier[k] = isIn ? 1 : 0;
      if (isIn) inliers++;
    }
    if (round === 2) break;
    const refit = fitSimilarity(sx, sy, dx, dy, count, inlier);
    if (!refit) break;
    m = refit;
  }
  return { m, inliers };
}

// ---------------------------------------------------------------------------------------------
// The tracker.

const KEYFRAME_RETRY_FRAMES = 5;
const now = () => (globalThis.performance ? globalThis.performance.now() : Date.now());

/**
 * `process(rgba, w, h, timeMs)` tracks one frame and returns
 * { epoch, state: "tracking" | "lost", t: world -> frame map in pixels, inliers, w, h }.
 * `reset()` starts a new epoch at the next frame.
 */
export class TrackerEngine {
  constructor(params = {}) {
    this.P = { ...PARAMS, ...params };
    this.epoch = 1;
    this.dims = null; // { w, h, levels } of this epoch's pictures
    this.random = makeRandom();
    this.newWorld();
  }

  reset() {
    this.epoch++;
    this.newWorld();
  }

  newWorld() {
    this.keyframes = [];
    this.active = null;
    this.world = false;
    this.lastGood = identity();
    this.previous = null; // world -> frame of the last two good frames, for the prediction
    this.previous2 = null;
    this.lost = false;
    this.lostSince = 0;
    this.lostFrames = 0;
    this.framesSinceCheck = 0;
    this.keyframeRetry = 0; // frames to wait before trying again to make a keyframe of a bare view
    this.serial = 0;
  }

  /** Buffers for pictures of w x h. */
  allocate(w, h) {
    const P = this.P;
    const levels = levelCount(w, h, P.LEVELS);
    this.dims = { w, h, levels };
    this.grads = [];
    for (let l = 0; l < levels; l++) {
      const n = (w >> l) * (h >> l);
      this.grads.push({ gx: new Float32Array(n), gy: new Float32Array(n) });
    }
    this.tmp = new Float32Array((w >> 1) * h + 1);
    this.pool = [];
    this.current = makeLevels(w, h, levels);
    this.detector = makeDetectorScratch(w, h);
    const F = P.MAX_FEATURES;
    this.back = makeTemplates(F, Math.min(levels, P.LK_LEVELS), P.WIN);
    this.buf = new Float32Array(P.WIN * P.WIN);
    this.px = new Float32Array(F);
    this.py = new Float32Array(F);
    this.tx = new Float32Array(F);
    this.ty = new Float32Array(F);
    this.bx = new Float32Array(F);
    this.by = new Float32Array(F);
    this.qx = new Float32Array(F);
    this.qy = new Float32Array(F);
    this.status = new Uint8Array(F);
    this.inlier = new Uint8Array(F);
    this.ncc = new Float32Array(F);
    this.ncc2 = new Float32Array(F);
    this.searchScore = null;
    this.frameCorners = null;
  }

  process(rgba, w, h, timeMs = 0) {
    this.frameStart = now();
    if (!this.dims || this.dims.w !== w || this.dims.h !== h) {
      // A new picture shape cannot be compared with the old world: start over.
      if (this.dims && this.world) {
        this.epoch++;
        this.newWorld();
      }
      this.allocate(w, h);
    }
    const P = this.P;
    const cur = this.current;
    grayscale(rgba, cur[0].img, w * h);
    buildPyramid(cur, this.tmp);
    for (let l = 0; l < cur.length; l++) gradients(cur[l], this.grads[l].gx, this.grads[l].gy);

    if (!this.world) return this.startWorld(timeMs);

    if (this.lost && timeMs - this.lostSince > P.GIVE_UP_MS) {
      this.epoch++;
      this.newWorld();
      return this.startWorld(timeMs);
    }

    if (!this.lost) {
      const K = this.active;
      const predicted = this.predict();
      const R = compose(predicted, invert(K.G));
      // A small coarse search corrects the prediction (jerks of the hand).
      const top = Math.min(this.dims.levels, P.LK_LEVELS) - 1;
      const found = this.search(K, R, top, 2, P.SEARCH_TRACK_RADIUS);
      let r = this.trackKeyframe(K, R, false, found.sx, found.sy);
      if (!r.ok) {
        // A jerk too far for the small search: the wide one, at once.
        const again = this.relocalise([{ K, R: compose(this.lastGood, invert(K.G)) }]);
        if (again) r = again.r;
      }
      if (r.ok) {
        const M = compose(r.R, K.G);
        this.good(M, timeMs);
        const switched = this.careForKeyframes(K, r, M);
        return this.result("tracking", switched ? switched.M : M, switched ? switched.inliers : r.inliers);
      }
      this.lost = true;
      this.lostSince = timeMs;
      this.lostFrames = 0;
      return this.result("lost", this.lastGood, r.inliers);
    }

    // Lost: the last good view of the last good keyframe (translation search), then binary
    // descriptor matching against the last good keyframe and, in turn, one other stored one.
    this.lostFrames++;
    const K = this.active;
    let found = this.relocalise([{ K, R: compose(this.lastGood, invert(K.G)) }]);
    if (!(found && found.r.ok)) {
      const others = this.keyframes.filter((k) => k !== K).sort((p, q) => q.used - p.used);
      const order = others.length ? [K, others[this.lostFrames % others.length]] : [K];
      this.describeFrame();
      for (const k of order) {
        if (now() - this.frameStart > P.RELOCALISE_BUDGET_MS) break;
        const r = this.matchKeyframe(k);
        if (r && r.ok) {
          found = { K: k, r };
          break;
        }
        if (r && (!found || r.inliers > found.r.inliers)) found = { K: k, r };
      }
    }
    if (found && found.r.ok) {
      this.active = found.K;
      const M = compose(found.r.R, found.K.G);
      this.lost = false;
      this.previous = null; // no velocity across a loss
      this.previous2 = null;
      this.good(M, timeMs);
      return this.result("tracking", M, found.r.inliers);
    }
    return this.result("lost", this.lastGood, found ? found.r.inliers : 0);
  }

  /** Corners of the current frame on level 1 and their binary descriptors (when lost). */
  describeFrame() {
    const P = this.P, l = Math.min(1, this.current.length - 1), lev = this.current[l];
    if (!this.frameCorners) {
      const n = P.DESCRIPTOR_CORNERS;
      this.frameCorners = {
        xs: new Float32Array(n), ys: new Float32Array(n), count: 0,
        desc: new Uint32Array(n * 8),
        scratch: makeDetectorScratch(lev.w, lev.h),
        pattern: descriptorPattern(P.DESCRIPTOR_RADIUS),
      };
    }
    const c = this.frameCorners, g = this.grads[l];
    const params = { ...P, MAX_FEATURES: P.DESCRIPTOR_CORNERS, BORDER: 4, MIN_DISTANCE: 6 };
    c.count = detectCorners(lev.w, lev.h, g.gx, g.gy, c.scratch, c.xs, c.ys, params);
    for (let i = 0; i < c.count; i++) {
      const angle = orientation(lev.img, lev.w, lev.h, c.xs[i], c.ys[i], P.DESCRIPTOR_RADIUS);
      describe(lev.img, lev.w, lev.h, c.xs[i], c.ys[i], angle, 1, c.pattern, c.desc, i * 8);
    }
  }

  /**
   * Matches the current frame's descriptors with keyframe K's (described at DESCRIPTOR_SCALES on
   * first use), RANSAC similarity of the matches, then the full check from that estimate.
   * Returns the trackKeyframe result, or null without a model.
   */
  matchKeyframe(K) {
    const P = this.P, c = this.frameCorners;
    if (!c || c.count < P.MATCH_MIN_INLIERS) return null;
    const per = P.DESCRIPTOR_SCALES.length;
    if (!K.desc) {
      const lev = K.levels[Math.min(1, K.levels.length - 1)], S = P.DESCRIPTOR_SCALES;
      K.desc = new Uint32Array(K.count * per * 8);
      for (let f = 0; f < K.count; f++) {
        const x = (K.xs[f] + 0.5) / 2 - 0.5, y = (K.ys[f] + 0.5) / 2 - 0.5;
        const angle = orientation(lev.img, lev.w, lev.h, x, y, P.DESCRIPTOR_RADIUS);
        for (let k = 0; k < per; k++) describe(lev.img, lev.w, lev.h, x, y, angle, S[k], c.pattern, K.desc, (f * per + k) * 8);
      }
    }
    // For each corner of the frame: the best keyframe feature, and the best of the others.
    const sx = this.qx, sy = this.qy, dx = this.bx, dy = this.by, ok = this.status, d = c.desc, e = K.desc;
    let m = 0;
    for (let i = 0; i < c.count && m < P.MAX_FEATURES; i++) {
      const o = i * 8;
      const d0 = d[o], d1 = d[o + 1], d2 = d[o + 2], d3 = d[o + 3], d4 = d[o + 4], d5 = d[o + 5], d6 = d[o + 6], d7 = d[o + 7];
      let best = 1e9, second = 1e9, bf = -1;
      for (let f = 0; f < K.count; f++) {
        let fbest = 1e9;
        for (let k = 0, q = f * per * 8; k < per; k++, q += 8) {
          const dist =
            popcount(d0 ^ e[q]) + popcount(d1 ^ e[q + 1]) + popcount(d2 ^ e[q + 2]) + popcount(d3 ^ e[q + 3]) +
            popcount(d4 ^ e[q + 4]) + popcount(d5 ^ e[q + 5]) + popcount(d6 ^ e[q + 6]) + popcount(d7 ^ e[q + 7]);
          if (dist < fbest) fbest = dist;
        }
        if (fbest < best) {
          second = best;
          best = fbest;
          bf = f;
        } else if (fbest < second) second = fbest;
      }
      if (bf < 0 || best > P.DESCRIPTOR_MAX_DISTANCE || best > P.DESCRIPTOR_RATIO * second) continue;
      sx[m] = K.xs[bf];
      sy[m] = K.ys[bf];
      dx[m] = 2 * c.xs[i] + 0.5;
      dy[m] = 2 * c.ys[i] + 0.5;
      ok[m] = 1;
      m++;
    }
    if (m < P.MATCH_MIN_INLIERS) return null;
    const loose = { ...P, RANSAC_THRESHOLD: P.MATCH_RANSAC_THRESHOLD, RANSAC_ITERATIONS: 500 };
    const { m: R, inliers } = ransacSimilarity(sx, sy, dx, dy, m, ok, this.inlier, this.random, loose);
    if (!R || inliers < P.MATCH_MIN_INLIERS) return null;
    const sc = scaleOf(R);
    if (sc < 0.5 || sc > 2) return null;
    let r = this.trackKeyframe(K, R, true);
    if (!r.ok && r.inliers >= P.REFINE_MIN_INLIERS) {
      const again = this.trackKeyframe(K, r.R, true);
      if (again.ok || again.inliers > r.inliers) r = again;
    }
    return r;
  }

  startWorld(timeMs) {
    const K = this.makeKeyframe(identity(), 0);
    if (!K) return this.result("lost", identity(), 0);
    this.world = true;
    this.active = K;
    this.lost = false;
    this.good(identity(), timeMs);
    return this.result("tracking", identity(), K.count);
  }

  good(M, timeMs) {
    this.previous2 = this.previous;
    this.previous = M;
    this.lastGood = M;
  }

  predict() {
    if (!this.previous2) return this.previous;
    const step = compose(this.previous, invert(this.previous2));
    return compose(damp(step, this.P.VELOCITY_DAMPING), this.previous);
  }

  result(state, t, inliers) {
    return { epoch: this.epoch, state, t: t.slice(), inliers, w: this.dims.w, h: this.dims.h };
  }

  /** The current frame as a keyframe with world -> frame G, or null when textureless. */
  makeKeyframe(G, depth) {
    const P = this.P, { w, h, levels } = this.dims;
    const xs = new Float32Array(P.MAX_FEATURES), ys = new Float32Array(P.MAX_FEATURES);
    const count = detectCorners(w, h, this.grads[0].gx, this.grads[0].gy, this.detector, xs, ys, P);
    if (count < P.MIN_FEATURES) return null;
    const tpl = makeTemplates(count, levels, P.WIN);
    buildTemplates(tpl, this.current, this.grads, xs, ys, count);
    const K = { id: ++this.serial, levels: this.current, xs, ys, count, tpl, G: G.slice(), depth, used: this.serial };
    // The frame's pyramid now belongs to the keyframe.
    this.current = this.pool.pop() ?? makeLevels(w, h, levels);
    this.keyframes.push(K);
    if (this.keyframes.length > P.MAX_KEYFRAMES) {
      // Drop the least recently used one, never the world's own or the active one.
      let victim = null;
      for (const k of this.keyframes) {
        if (k.depth === 0 || k === K || k === this.active) continue;
        if (!victim || k.used < victim.used) victim = k;
      }
      if (victim) {
        this.keyframes.splice(this.keyframes.indexOf(victim), 1);
        this.pool.push(victim.levels);
      }
    }
    return K;
  }

  /**
   * Tracks keyframe K into the current frame from the guess R (K -> frame, pixels), optionally
   * shifted by (sx, sy) px. Returns { ok, R, inliers, ratio, visible }.
   */
  trackKeyframe(K, R, relocalising, sx = 0, sy = 0) {
    const P = this.P, { w, h, levels } = this.dims;
    const n = K.count, status = this.status;
    const a = R[0], b = R[3];
    let visible = 0;
    for (let i = 0; i < n; i++) {
      const x = R[0] * K.xs[i] + R[1] * K.ys[i] + R[2] + sx, y = R[3] * K.xs[i] + R[4] * K.ys[i] + R[5] + sy;
      this.px[i] = x;
      this.py[i] = y;
      const inside = x >= 2 && y >= 2 && x <= w - 3 && y <= h - 3;
      status[i] = inside ? 1 : 0;
      if (inside) visible++;
    }
    const fail = { ok: false, R, inliers: 0, ratio: 0, visible };
    // Relocalising asks for more: RELOCALISE_MIN_INLIERS, or half of a sparse keyframe's features.
    const minInliers = relocalising
      ? Math.max(P.MIN_INLIERS + 2, Math.min(P.RELOCALISE_MIN_INLIERS, Math.round(0.5 * n)))
      : P.MIN_INLIERS;
    if (visible < minInliers) return fail;
    const top = Math.min(levels, P.LK_LEVELS) - 1;
    trackTemplates(K.tpl, this.current, a, b, n, this.px, this.py, this.tx, this.ty, status, this.ncc, top, this.buf, P);
    // Forward-backward: the patches found, back into the keyframe from the predicted position.
    const Rin = invert(R);
    Rin[2] -= Rin[0] * sx + Rin[1] * sy;
    Rin[5] -= Rin[3] * sx + Rin[4] * sy;
    for (let i = 0; i < n; i++) {
      if (status[i] && this.ncc[i] < P.MIN_NCC) status[i] = 0;
      if (!status[i]) continue;
      this.qx[i] = Rin[0] * this.tx[i] + Rin[1] * this.ty[i] + Rin[2];
      this.qy[i] = Rin[3] * this.tx[i] + Rin[4] * this.ty[i] + Rin[5];
    }
    buildTemplates(this.back, this.current, this.grads, this.tx, this.ty, n, status);
    const s2 = a * a + b * b;
    trackTemplates(this.back, K.levels, a / s2, -b / s2, n, this.qx, this.qy, this.bx, this.by, status, this.ncc2, top, this.buf, P);
    const fb2 = P.FB_MAX * P.FB_MAX;
    for (let i = 0; i < n; i++) {
      if (!status[i]) continue;
      const ex = this.bx[i] - K.xs[i], ey = this.by[i] - K.ys[i];
      if (ex * ex + ey * ey > fb2) status[i] = 0;
    }
    const { m, inliers } = ransacSimilarity(K.xs, K.ys, this.tx, this.ty, n, status, this.inlier, this.random, P);
    if (!m) return fail;
    const ratio = inliers / visible;
    const minRatio = relocalising ? P.RELOCALISE_MIN_RATIO : P.MIN_RATIO;
    let ok = inliers >= minInliers && ratio >= minRatio;
    // Plausible against the guess: no sudden zoom or spin.
    const step = compose(m, invert(R));
    const sc = scaleOf(step), rot = Math.abs(rotationOf(step));
    if (sc > P.MAX_SCALE_STEP || sc < 1 / P.MAX_SCALE_STEP || rot > P.MAX_ROTATION_STEP) ok = false;
    return { ok, R: m, inliers, ratio, visible };
  }

  /**
   * Relocalises against guesses [{ K, R }]: a wide coarse search of a translation for each (at
   * the coarsest level, up to half the picture each way), then the full check of the two
   * best-scoring ones; a near miss (>= REFINE_MIN_INLIERS consistent tracks) is
   * tracked again from its own estimate, which corrects the rotation and scale of the guess.
   * Returns { K, r } of the success or of the best failure, or null.
   */
  relocalise(guesses) {
    const P = this.P, top = this.dims.levels - 1;
    const scored = guesses.map((g) => ({ ...g, found: this.search(g.K, g.R, top, 1, 0) }));
    scored.sort((p, q) => q.found.score - p.found.score);
    let best = null;
    for (const g of scored.slice(0, 2)) {
      if (best && now() - this.frameStart > P.RELOCALISE_BUDGET_MS) break;
      let r = this.trackKeyframe(g.K, g.R, true, g.found.sx, g.found.sy);
      if (!r.ok && r.inliers >= P.REFINE_MIN_INLIERS && now() - this.frameStart < P.RELOCALISE_BUDGET_MS) {
        const again = this.trackKeyframe(g.K, r.R, true);
        if (again.ok || again.inliers > r.inliers) r = again;
      }
      if (r.ok) return { K: g.K, r };
      if (!best || r.inliers > best.r.inliers) best = { K: g.K, r };
    }
    return best;
  }

  /**
   * Exhaustive search of a translation of keyframe K's features seen through R, on pyramid
   * level `level` of the current frame, within +-radius px of that level (0: up to half the
   * picture). Each shift is scored by the sum of per-feature NCC of 5x5 sub-sampled templates
   * (`spacing` px apart, nearest pixel) of up to SEARCH_FEATURES features. Returns the best
   * { sx, sy } in level-0 px and its score (mean NCC per feature).
   */
  search(K, R, level, spacing, radius) {
    const P = this.P;
    const lev = this.current[level], w = lev.w, h = lev.h, img = lev.img;
    const tpl = K.tpl, L = tpl.levels, win = tpl.win, n = tpl.n, rr = (win - 1) / 2;
    const scale = 1 / (1 << level), a = R[0], b = R[3];
    const SX = radius || Math.ceil(w / 2), SY = radius || Math.ceil(h / 2), side = 2 * SX + 1;
    const size = side * (2 * SY + 1);
    if (!this.searchScore || this.searchScore.length < size) this.searchScore = new Float32Array(size);
    const score = this.searchScore;
    score.fill(0, 0, size);
    const every = Math.max(1, Math.ceil(K.count / P.SEARCH_FEATURES));
    const offs = [];
    for (let v = -2 * spacing; v <= 2 * spacing; v += spacing)
      for (let u = -2 * spacing; u <= 2 * spacing; u += spacing) offs.push([u, v, (v + rr) * win + (u + rr)]);
    const m = offs.length;
    const idx = this.searchIdx ?? (this.searchIdx = new Int32Array(m));
    const tv = this.searchT ?? (this.searchT = new Float32Array(m));
    let used = 0;
    for (let f = 0; f < K.count; f += every) {
      const x0 = R[0] * K.xs[f] + R[1] * K.ys[f] + R[2], y0 = R[3] * K.xs[f] + R[4] * K.ys[f] + R[5];
      const cx = (x0 + 0.5) * scale - 0.5, cy = (y0 + 0.5) * scale - 0.5;
      const base = (f * L + level) * n;
      let mt = 0, minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
      for (let k = 0; k < m; k++) {
        const [u, v, q] = offs[k];
        const x = Math.round(cx + a * u - b * v), y = Math.round(cy + b * u + a * v);
        idx[k] = y * w + x; // may lie outside: shifts are checked against the bounding box
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
        tv[k] = tpl.t[base + q];
        mt += tv[k];
      }
      mt /= m;
      let vt = 0;
      for (let k = 0; k < m; k++) {
        tv[k] -= mt;
        vt += tv[k] * tv[k];
      }
      if (vt < m) continue;
      used++;
      const dy0 = Math.max(-SY, -minY), dy1 = Math.min(SY, h - 1 - maxY);
      const dx0 = Math.max(-SX, -minX), dx1 = Math.min(SX, w - 1 - maxX);
      for (let dy = dy0; dy <= dy1; dy++) {
        const srow = (dy + SY) * side + SX;
        for (let dx = dx0; dx <= dx1; dx++) {
          const off = dy * w + dx;
          let si = 0, si2 = 0, sit = 0;
          for (let k = 0; k < m; k++) {
            const val = img[idx[k] + off];
            si += val;
            si2 += val * val;
            sit += val * tv[k];
          }
          const vi = si2 - (si * si) / m;
          if (vi > m) score[srow + dx] += sit / Math.sqrt(vi * vt);
        }
      }
    }
    let bi = SY * side + SX, bv = score[bi];
    for (let i = 0; i < size; i++) if (score[i] > bv) (bv = score[i]), (bi = i);
    const f = 1 << level;
    return { sx: ((bi % side) - SX) * f, sy: (Math.floor(bi / side) - SY) * f, score: used ? bv / used : 0 };
  }

  /**
   * After a good frame against K (result r, world -> frame M): switch to a better stored
   * keyframe or make a new one when K no longer sees the view well. Returns { M, inliers } of
   * the keyframe switched to, or null.
   */
  careForKeyframes(K, r, M) {
    const P = this.P;
    K.used = ++this.serial;
    const R = r.R;
    const sc = scaleOf(R), rot = Math.abs(rotationOf(R));
    const vis = this.visibleFraction(K, R);
    const need =
      vis < P.KEY_MIN_VISIBLE ||
      r.inliers < Math.min(P.KEY_MIN_INLIERS, 0.8 * K.count) ||
      r.inliers < P.KEY_MIN_RATIO * K.count ||
      sc > P.KEY_MAX_SCALE ||
      sc < 1 / P.KEY_MAX_SCALE ||
      rot > P.KEY_MAX_ROTATION;
    this.framesSinceCheck++;
    if (!need && (K.depth === 0 || this.framesSinceCheck < P.RECHECK_FRAMES)) return null;
    this.framesSinceCheck = 0;
    // Stored keyframes that would see this view well, nearest the world first.
    const candidates = [];
    for (const k of this.keyframes) {
      if (k === K || (!need && k.depth >= K.depth)) continue;
      const Rk = compose(M, invert(k.G));
      const s = scaleOf(Rk), q = Math.abs(rotationOf(Rk));
      if (s > P.KEY_MAX_SCALE || s < 1 / P.KEY_MAX_SCALE || q > P.KEY_MAX_ROTATION) continue;
      const v = this.visibleFraction(k, Rk);
      if (v < P.REUSE_MIN_VISIBLE) continue;
      candidates.push({ k, Rk, v });
    }
    candidates.sort((p, q) => p.k.depth - q.k.depth || q.v - p.v);
    for (const c of candidates.slice(0, 2)) {
      const rk = this.trackKeyframe(c.k, c.Rk, false);
      if (rk.ok && rk.inliers >= Math.min(P.KEY_MIN_INLIERS, 0.8 * c.k.count) && rk.inliers >= P.KEY_MIN_RATIO * c.k.count) {
        this.active = c.k;
        c.k.used = ++this.serial;
        const Mk = compose(rk.R, c.k.G);
        this.previous = Mk;
        this.lastGood = Mk;
        return { M: Mk, inliers: rk.inliers };
      }
    }
    if (!need) return null;
    if (this.keyframeRetry > 0) {
      this.keyframeRetry--;
      return null;
    }
    const fresh = this.makeKeyframe(M, K.depth + 1);
    if (fresh) this.active = fresh;
    else this.keyframeRetry = KEYFRAME_RETRY_FRAMES; // a bare view: not every frame
    return null;
  }

  visibleFraction(K, R) {
    const { w, h } = this.dims, B = this.P.BORDER;
    let v = 0;
    for (let i = 0; i < K.count; i++) {
      const x = R[0] * K.xs[i] + R[1] * K.ys[i] + R[2], y = R[3] * K.xs[i] + R[4] * K.ys[i] + R[5];
      if (x >= B && y >= B && x <= w - 1 - B && y <= h - 1 - B) v++;
    }
    return v / K.count;
  }
}
