// One 16-bit image on screen: its samples, its window (lo..hi of the 16-bit values shown black to
// white), its histogram, and an 8-bit rendering through a 65536-entry window/level table.

export const FULL = 65535;
export const BINS = 256;

export class Layer {
  constructor({ width, height, data }) {
    this.width = width;
    this.height = height;
    this.data = data;
    this.lo = 0;
    this.hi = FULL;
    this.histogram = histogram(data);
    this.canvas = document.createElement("canvas");
    this.canvas.width = width;
    this.canvas.height = height;
    this.pixels = new ImageData(width, height);
    this.version = 0; // bumps on every re-render, so dependants (the difference view) know to redo
  }

  get center() {
    return (this.lo + this.hi) / 2;
  }

  get span() {
    return this.hi - this.lo;
  }

  /** Set the window by centre (level) and width, kept inside the 16-bit range and at least 1 wide. */
  setWindow(center, width) {
    const w = Math.min(Math.max(width, 1), 2 * FULL);
    const c = Math.min(Math.max(center, 0), FULL);
    this.lo = Math.round(c - w / 2);
    this.hi = Math.max(Math.round(c + w / 2), this.lo + 1);
  }

  /** The window that leaves out the darkest and brightest 0.5 % of pixels. */
  autoWindow() {
    const total = this.data.length;
    const cut = total * 0.005;
    let seen = 0;
    let lo = 0;
    while (lo < BINS - 1 && seen + this.histogram[lo] <= cut) seen += this.histogram[lo++];
    seen = 0;
    let hi = BINS - 1;
    while (hi > lo && seen + this.histogram[hi] <= cut) seen += this.histogram[hi--];
    const size = (FULL + 1) / BINS;
    this.lo = Math.round(lo * size);
    this.hi = Math.round((hi + 1) * size) - 1;
  }

  resetWindow() {
    this.lo = 0;
    this.hi = FULL;
  }

  /** Map every sample through the window (and inversion) into the layer's canvas. */
  render(invert) {
    const table = new Uint32Array(FULL + 1);
    const lo = this.lo;
    const scale = 255 / Math.max(this.hi - lo, 1);
    for (let v = 0; v <= FULL; v++) {
      let g = Math.round((v - lo) * scale);
      g = g < 0 ? 0 : g > 255 ? 255 : g;
      if (invert) g = 255 - g;
      table[v] = 0xff000000 | (g << 16) | (g << 8) | g; // RGBA bytes, little-endian
    }
    const out = new Uint32Array(this.pixels.data.buffer);
    const data = this.data;
    for (let i = 0; i < data.length; i++) out[i] = table[data[i]];
    this.canvas.getContext("2d").putImageData(this.pixels, 0, 0);
    this.version++;
  }
}

function histogram(data) {
  const bins = new Uint32Array(BINS);
  const shift = 8; // 65536 values / 256 bins
  for (let i = 0; i < data.length; i++) bins[data[i] >> shift]++;
  return bins;
}

/** What you see, subtracted: mid-grey where the two renderings agree, brighter where ``after`` is brighter. */
export function differenceCanvas(before, after, canvas) {
  const width = Math.min(before.width, after.width);
  const height = Math.min(before.height, after.height);
  canvas.width = width;
  canvas.height = height;
  const out = new ImageData(width, height);
  const o = new Uint32Array(out.data.buffer);
  const a = new Uint32Array(before.pixels.data.buffer);
  const b = new Uint32Array(after.pixels.data.buffer);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = (b[y * after.width + x] & 0xff) - (a[y * before.width + x] & 0xff);
      let g = 128 + 2 * d;
      g = g < 0 ? 0 : g > 255 ? 255 : g;
      o[y * width + x] = 0xff000000 | (g << 16) | (g << 8) | g;
    }
  }
  canvas.getContext("2d").putImageData(out, 0, 0);
}

/** The histogram (log counts) with the window shaded, into a small canvas. */
export function drawHistogram(canvas, layer, invert) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  if (!layer) return;
  const x = (v) => (v / FULL) * width;
  ctx.fillStyle = "rgba(80, 140, 220, 0.25)";
  ctx.fillRect(x(layer.lo), 0, Math.max(x(layer.hi) - x(layer.lo), 1), height);
  const peak = Math.log1p(Math.max(...layer.histogram));
  ctx.fillStyle = "#d8dde6";
  for (let i = 0; i < BINS; i++) {
    const h = (Math.log1p(layer.histogram[i]) / peak) * (height - 2);
    ctx.fillRect((i / BINS) * width, height - h, width / BINS + 0.5, h);
  }
  // The window's transfer line: black at lo, white at hi (or the other way round when inverted).
  ctx.strokeStyle = "#f5b942";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(0, invert ? 1 : height - 1);
  ctx.lineTo(x(layer.lo), invert ? 1 : height - 1);
  ctx.lineTo(x(layer.hi), invert ? height - 1 : 1);
  ctx.lineTo(width, invert ? height - 1 : 1);
  ctx.stroke();
}
