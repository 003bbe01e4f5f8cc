// The viewing area: one transform (zoom and pan) shared by every picture on it, so the original
// and the result stay locked together in every mode:
//   original | result  one picture;   side  original left, result right;
//   split    before/after on one picture, divided at `split` (0..1 of the width);   diff  the difference.
// Drags pan, or change window/level (right button, Shift, or the window/level drag mode).

import { differenceCanvas } from "./layer.js";

const WL_STEP = 128; // 16-bit units per CSS pixel of drag: 512 px cover the whole range

export class Stage {
  constructor(element, left, right, { onWindow, onDraw }) {
    this.element = element;
    this.left = left;
    this.right = right;
    this.onWindow = onWindow; // (layers changed) -> re-render them
    this.onDraw = onDraw;
    this.original = null;
    this.result = null;
    this.mode = "original";
    this.split = 0.5;
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.dragMode = "pan";
    this.touches = new Map(); // pointerId -> position of each finger on the view
    this.linked = true;
    this.active = "original"; // whose window the keyboard and histogram show when not linked
    this.diff = document.createElement("canvas");
    this.diffOf = "";
    this.pending = false;
    this.drawn = [];
    this.fitted = false; // still as fit() left it: a resize (a mode change) fits again
    this.size = null;
    this._listen();
    new ResizeObserver(() => this._resized()).observe(left);
  }

  /** Keep a fitted image fitted, and otherwise the same point at the middle of the canvas. */
  _resized() {
    const { width, height } = this.left.getBoundingClientRect();
    if (this.fitted) {
      this.fit();
    } else if (this.size) {
      this.panX += (width - this.size.width) / 2;
      this.panY += (height - this.size.height) / 2;
    }
    this.size = { width, height };
    this.request();
  }

  /** The layers a window/level change goes to. */
  windowTargets(which = this.active) {
    const all = [this.original, this.result].filter(Boolean);
    if (this.linked) return all;
    const layer = which === "result" ? this.result : this.original;
    return layer ? [layer] : all;
  }

  setMode(mode) {
    this.mode = mode;
    this.element.dataset.mode = mode;
    this.right.hidden = mode !== "side";
    this.request();
  }

  /** Zoom so the whole image fits, centred. */
  fit() {
    const layer = this.original || this.result;
    if (!layer) return;
    const { width, height } = this.left.getBoundingClientRect();
    if (!width || !height) return;
    this.zoom = Math.min(width / layer.width, height / layer.height);
    this.panX = (width - layer.width * this.zoom) / 2;
    this.panY = (height - layer.height * this.zoom) / 2;
    this.fitted = true;
    this.request();
  }

  /** Zoom by ``factor`` keeping the point (cx, cy) (CSS px in a canvas; default its centre) in place. */
  zoomBy(factor, cx, cy) {
    const { width, height } = this.left.getBoundingClientRect();
    cx = cx ?? width / 2;
    cy = cy ?? height / 2;
    const zoom = Math.min(Math.max(this.zoom * factor, 0.02), 64);
    this.panX = cx - ((cx - this.panX) * zoom) / this.zoom;
    this.panY = cy - ((cy - this.panY) * zoom) / this.zoom;
    this.zoom = zoom;
    this.fitted = false;
    this.request();
  }

  panBy(dx, dy) {
    this.panX += dx;
    this.panY += dy;
    this.fitted = false;
    this.request();
  }

  /** Move window (width by dx, level by dy steps of WL_STEP) on the given layers. */
  adjustWindow(layers, dx, dy) {
    for (const layer of layers) layer.setWindow(layer.center - dy * WL_STEP, layer.span + dx * WL_STEP);
    this.onWindow(layers);
  }

  /** Draw on the next animation frame (many events, one drawing). */
  request() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const { original, result } = this;
    const shown = [];
    if (this.mode === "side") {
      this._paint(this.left, original);
      this._paint(this.right, result);
      shown.push(original, result);
    } else if (this.mode === "split" && original && result) {
      this._paint(this.left, original, result);
      shown.push(original, result);
    } else if (this.mode === "diff" && original && result) {
      const key = `${original.version}/${result.version}`;
      if (this.diffOf !== key) {
        differenceCanvas(original, result, this.diff);
        this.diffOf = key;
      }
      this._paint(this.left, { canvas: this.diff });
      shown.push(original, result);
    } else {
      const layer = this.mode === "original" ? original || result : result || original;
      this._paint(this.left, layer);
      shown.push(layer);
    }
    this.drawn = shown.filter(Boolean);
    this.element.dataset.zoom = this.zoom.toFixed(3);
    this.onDraw(this.drawn);
  }

  _paint(canvas, layer, after = null) {
    const dpr = window.devicePixelRatio || 1;
    const { width, height } = canvas.getBoundingClientRect();
    const w = Math.max(1, Math.round(width * dpr));
    const h = Math.max(1, Math.round(height * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#111";
    ctx.fillRect(0, 0, w, h);
    if (!layer) return;
    ctx.imageSmoothingEnabled = this.zoom < 1;
    ctx.setTransform(dpr * this.zoom, 0, 0, dpr * this.zoom, dpr * this.panX, dpr * this.panY);
    ctx.drawImage(layer.canvas, 0, 0);
    if (after) {
      const at = Math.round(this.split * w);
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.beginPath();
      ctx.rect(at, 0, w - at, h);
      ctx.clip();
      ctx.setTransform(dpr * this.zoom, 0, 0, dpr * this.zoom, dpr * this.panX, dpr * this.panY);
      ctx.drawImage(after.canvas, 0, 0);
      ctx.restore();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = "#f5b942";
      ctx.fillRect(at - Math.round(dpr), 0, Math.max(2, Math.round(2 * dpr)), h);
    }
  }

  /** Which layer is under a pointer event (for window/level when the windows are not linked). */
  _layerAt(event) {
    if (this.mode === "side") return event.currentTarget === this.right ? "result" : "original";
    if (this.mode === "split") {
      const box = this.left.getBoundingClientRect();
      return event.clientX - box.left < this.split * box.width ? "original" : "result";
    }
    return this.mode === "result" ? "result" : "original";
  }

  _listen() {
    for (const canvas of [this.left, this.right]) {
      canvas.addEventListener("contextmenu", (event) => event.preventDefault());
      canvas.addEventListener("wheel", (event) => {
        event.preventDefault();
        const box = canvas.getBoundingClientRect();
        this.zoomBy(Math.pow(1.0015, -event.deltaY), event.clientX - box.left, event.clientY - box.top);
      });
      canvas.addEventListener("pointerdown", (event) => {
        if (event.pointerType === "touch") this.touches.set(event.pointerId, { x: event.clientX, y: event.clientY });
        this._drag(event, canvas);
      });
      canvas.addEventListener("pointermove", (event) => this._pinch(event, canvas));
      const lift = (event) => this.touches.delete(event.pointerId);
      canvas.addEventListener("pointerup", lift);
      canvas.addEventListener("pointercancel", lift);
    }
  }

  /** Two fingers: zoom by the change of their distance, pan by the move of their midpoint. */
  _pinch(event, canvas) {
    if (!this.touches.has(event.pointerId) || this.touches.size !== 2) return;
    const [a, b] = [...this.touches.values()];
    this.touches.set(event.pointerId, { x: event.clientX, y: event.clientY });
    const [c, d] = [...this.touches.values()];
    const box = canvas.getBoundingClientRect();
    const spread = Math.hypot(a.x - b.x, a.y - b.y);
    const mx = (c.x + d.x) / 2;
    const my = (c.y + d.y) / 2;
    this.panBy(mx - (a.x + b.x) / 2, my - (a.y + b.y) / 2);
    if (spread > 0) this.zoomBy(Math.hypot(c.x - d.x, c.y - d.y) / spread, mx - box.left, my - box.top);
  }

  _drag(event, canvas) {
    const box = canvas.getBoundingClientRect();
    const nearDivider = this.mode === "split" && Math.abs(event.clientX - box.left - this.split * box.width) < 10;
    const kind = nearDivider
      ? "split"
      : event.button === 2 || event.shiftKey || this.dragMode === "window"
        ? "window"
        : "pan";
    if (kind === "window") {
      this.active = this._layerAt(event);
    }
    const targets = kind === "window" ? this.windowTargets() : [];
    if (this.touches.size < 2) canvas.setPointerCapture(event.pointerId);
    let x = event.clientX;
    let y = event.clientY;
    const move = (e) => {
      if (e.pointerId !== event.pointerId) return;
      const dx = e.clientX - x;
      const dy = e.clientY - y;
      x = e.clientX;
      y = e.clientY;
      if (this.touches.size > 1) return; // a pinch is going on: _pinch moves the view
      if (kind === "pan") this.panBy(dx, dy);
      else if (kind === "window") this.adjustWindow(targets, dx, dy);
      else this.setSplit((e.clientX - box.left) / box.width);
    };
    const up = (e) => {
      if (e.pointerId !== event.pointerId) return;
      canvas.removeEventListener("pointermove", move);
      canvas.removeEventListener("pointerup", up);
      canvas.removeEventListener("pointercancel", up);
    };
    canvas.addEventListener("pointermove", move);
    canvas.addEventListener("pointerup", up);
    canvas.addEventListener("pointercancel", up);
    event.preventDefault();
  }

  setSplit(fraction) {
    this.split = Math.min(Math.max(fraction, 0), 1);
    this.element.dispatchEvent(new CustomEvent("split", { detail: this.split }));
    this.request();
  }
}
