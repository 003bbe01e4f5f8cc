// The viewer page: sign in, upload, list, view, filter, compare, download. See docs/viewer.md.

import * as api from "./api.js";
import { Layer, drawHistogram } from "./layer.js";
import { decodePng16 } from "./png16.js";
import { Stage } from "./stage.js";
import { decodeTiff16 } from "./tiff16.js";

const $ = (id) => document.getElementById(id);

const SUPREME_TASKS = ["general", "endodontic", "periodontic", "restorative", "hygiene"];
const AE_TASKS = ["general", "endodontic", "periodontic", "restorative"]; // ae has no hygiene
const PRESET = { gamma: 2.3, slope: 65535, offset: 0, totalGrays: 4096, minimumGray: 3612, maximumGray: 418 };

const state = {
  image: null, // the open ImageResource
  result: null, // {name, params, key} of the result on screen
  sidecar: null, // a dropped ImageInfo JSON, sent with the fields' values on top
  reading: Promise.resolve(), // sidecars being read
  png: null,
  next: null,
  request: null, // AbortController of the filter request in flight
  invert: false,
  unlinkedForUnmap: false, // the windows were unlinked by an unmap result, not by the user
};

// --- messages ---------------------------------------------------------------------------------

function say(text) {
  $("status").textContent = text;
}

function fail(error) {
  if (error && error.name === "AbortError") return;
  const text = error instanceof api.ApiError ? error.message : `Error: ${error.message || error}`;
  $("error").textContent = text;
  $("error").hidden = false;
  say("");
  if (error instanceof api.ApiError && error.status === 401) showSignIn(error.detail);
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// --- sign in ----------------------------------------------------------------------------------

function showSignIn(message = "") {
  api.signOut();
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  $("sign-in-error").hidden = !message;
  $("user").focus();
}

function showApp(user) {
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("who").hidden = !user;
  $("who").textContent = user ? `Signed in as ${user}` : "";
  refreshList();
}

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const user = $("user").value;
  try {
    await api.signIn(user, $("password").value);
  } catch (error) {
    const wrong = error instanceof api.ApiError && error.status === 401;
    $("sign-in-error").textContent = wrong ? "Wrong user name or password." : error.message;
    $("sign-in-error").hidden = false;
    return;
  } finally {
    $("password").value = "";
  }
  sessionStorage.setItem("dsio-filters-viewer.user", user);
  clearError();
  say(`Signed in as ${user}.`);
  showApp(user);
});

$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem("dsio-filters-viewer.user");
  closeImage();
  showSignIn();
  say("Signed out.");
});

// --- upload -----------------------------------------------------------------------------------

function chooseFiles(files) {
  const reading = [];
  for (const file of files) {
    if (/\.json$/i.test(file.name) || file.type === "application/json") {
      reading.push(readSidecar(file));
    } else {
      state.png = file;
    }
  }
  state.reading = Promise.all(reading); // an upload waits for the sidecar to be read
  showChosen();
}

async function readSidecar(file) {
  try {
    const doc = JSON.parse(await file.text());
    const info = doc.imageInfo || doc.ImageInfo || doc;
    if (typeof info !== "object" || info === null || Array.isArray(info)) throw new Error("not an object");
    state.sidecar = info;
    fillInfo(info);
    showChosen();
  } catch (error) {
    fail(new Error(`The sidecar ${file.name} is not JSON ImageInfo: ${error.message}`));
  }
}

function showChosen() {
  const parts = [];
  if (state.png) parts.push(`${state.png.name} (${Math.round(state.png.size / 1024)} KiB)`);
  if (state.sidecar) parts.push("ImageInfo from the sidecar");
  $("chosen").textContent = parts.length ? parts.join(" + ") : "No file chosen.";
}

function fillInfo(info) {
  const lut = info.lutInfo || info.LutInfo || {};
  for (const name of Object.keys(PRESET)) if (lut[name] !== undefined) $(name).value = lut[name];
  const binning = (info.acquisitionInfo || {}).binning;
  if (binning) $("binning").value = /binned2x2/i.test(binning) ? "Binned2x2" : "Unbinned";
}

function imageInfo() {
  const info = structuredClone(state.sidecar || {});
  const lut = {};
  for (const [name, preset] of Object.entries(PRESET)) {
    const value = $(name).value.trim();
    lut[name] = value === "" ? preset : Number(value);
  }
  info.lutInfo = lut;
  info.acquisitionInfo = { ...(info.acquisitionInfo || {}), binning: $("binning").value };
  return info;
}

$("files").addEventListener("change", (event) => chooseFiles(event.target.files));
$("drop").addEventListener("dragover", (event) => {
  event.preventDefault();
  $("drop").classList.add("over");
});
$("drop").addEventListener("dragleave", () => $("drop").classList.remove("over"));
$("drop").addEventListener("drop", (event) => {
  event.preventDefault();
  $("drop").classList.remove("over");
  chooseFiles(event.dataTransfer.files);
});
$("preset").addEventListener("click", () => {
  state.sidecar = null;
  fillInfo({ lutInfo: PRESET, acquisitionInfo: { binning: "Unbinned" } });
  showChosen();
});

$("upload").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError();
  if (!state.png) {
    fail(new Error("Choose a 16-bit grayscale PNG first."));
    return;
  }
  $("upload-button").disabled = true;
  await state.reading;
  say(`Uploading ${state.png.name}…`);
  try {
    const resource = await api.uploadImage(state.png, imageInfo());
    say(`Uploaded ${state.png.name}.`);
    await refreshList();
    await openImage(resource);
  } catch (error) {
    fail(error);
  } finally {
    $("upload-button").disabled = false;
  }
});

// --- the list ---------------------------------------------------------------------------------

async function refreshList() {
  try {
    const page = await api.listImages();
    $("images").replaceChildren(...page.items.map(listItem));
    state.next = page.next;
  } catch (error) {
    fail(error);
    return;
  }
  showListState();
}

function showListState() {
  $("more").hidden = !state.next;
  $("no-images").hidden = $("images").children.length > 0;
  tick();
}

$("refresh").addEventListener("click", refreshList);
$("more").addEventListener("click", async () => {
  try {
    const page = await api.listImages(state.next);
    $("images").append(...page.items.map(listItem));
    state.next = page.next;
    showListState();
  } catch (error) {
    fail(error);
  }
});

function shortId(id) {
  return id.slice(0, 8);
}

function listItem(resource) {
  const item = document.createElement("li");
  item.dataset.id = resource.id;
  item.dataset.expires = resource.expires;
  if (state.image && state.image.id === resource.id) item.classList.add("open");
  const name = document.createElement("span");
  name.className = "name";
  const created = new Date(resource.createdOn);
  name.textContent = `${shortId(resource.id)} · ${created.toLocaleTimeString()}`;
  const left = document.createElement("span");
  left.className = "expiry";
  const open = document.createElement("button");
  open.type = "button";
  open.textContent = "Open";
  open.setAttribute("aria-label", `Open image ${shortId(resource.id)}`);
  open.addEventListener("click", () => openImage(resource).catch(fail));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "danger";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete image ${shortId(resource.id)}`);
  remove.addEventListener("click", () => removeImage(resource, remove, item));
  item.append(name, left, open, remove);
  return item;
}

// A two-step delete: the first press asks, the second deletes (no modal dialog in the way).
async function removeImage(resource, button, item) {
  if (button.dataset.confirm !== "yes") {
    button.dataset.confirm = "yes";
    button.textContent = "Really delete?";
    say(`Press again to delete image ${shortId(resource.id)}.`);
    return;
  }
  try {
    await api.deleteImage(resource.id);
  } catch (error) {
    fail(error);
    return;
  }
  item.remove();
  if (state.image && state.image.id === resource.id) closeImage();
  say(`Deleted image ${shortId(resource.id)}.`);
  showListState();
}

function countdown(ms) {
  if (ms <= 0) return "expired";
  const s = Math.floor(ms / 1000);
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return "expires in " + hms.map((n, i) => (i ? String(n).padStart(2, "0") : n)).join(":");
}

function tick() {
  const now = Date.now();
  for (const item of $("images").children) {
    item.querySelector(".expiry").textContent = countdown(Date.parse(item.dataset.expires) - now);
  }
}
setInterval(tick, 1000);

// --- viewing ----------------------------------------------------------------------------------

const stage = new Stage($("stage"), $("left"), $("right"), {
  onWindow: (layers) => {
    for (const layer of layers) layer.render(state.invert);
    stage.request();
  },
  onDraw: () => {
    showWindow();
    // What is on screen, for tests and scripts: set after each drawing.
    const view = `${stage.mode} ${state.invert ? "inverted" : "plain"} split ${Math.round(stage.split * 100)}`;
    $("stage").dataset.drawn = view;
  },
});

function activeLayer() {
  const target = $("wl-target").value;
  if (target === "result") return stage.result;
  if (target === "original") return stage.original;
  return stage.mode === "result" || stage.mode === "diff" ? stage.result || stage.original : stage.original;
}

function showWindow() {
  const layer = activeLayer();
  drawHistogram($("histogram"), layer, state.invert);
  $("window-readout").textContent = layer
    ? `Window ${layer.lo}–${layer.hi} (level ${Math.round(layer.center)}, width ${layer.span})`
    : "Window —";
}

function closeImage() {
  state.image = null;
  state.result = null;
  stage.original = null;
  stage.result = null;
  $("apply").disabled = true;
  $("placeholder").hidden = false;
  $("stage").dataset.original = "";
  $("stage").dataset.result = "";
  showDownloads();
  stage.request();
}

async function openImage(resource) {
  clearError();
  if (state.request) state.request.abort();
  say(`Opening image ${shortId(resource.id)}…`);
  const layer = new Layer(await decodePng16(await api.fetchMedia(resource.id)));
  layer.render(state.invert);
  state.image = resource;
  state.result = null;
  stage.original = layer;
  stage.result = null;
  for (const item of $("images").children) item.classList.toggle("open", item.dataset.id === resource.id);
  $("placeholder").hidden = true;
  $("apply").disabled = false;
  setView("original");
  stage.fit();
  await nextFrame();
  $("stage").dataset.original = resource.id;
  $("stage").dataset.result = "";
  showDownloads();
  say(`Image ${shortId(resource.id)}: ${layer.width} × ${layer.height}. Choose a filter and apply it.`);
}

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

function setView(mode) {
  if (mode !== "original" && !stage.result) mode = "original";
  for (const radio of document.querySelectorAll("input[name=view]")) {
    radio.checked = radio.value === mode;
    radio.disabled = radio.value !== "original" && !stage.result;
  }
  $("split").disabled = mode !== "split";
  stage.setMode(mode);
}

for (const radio of document.querySelectorAll("input[name=view]")) {
  radio.addEventListener("change", () => setView(radio.value));
}
$("zoom-in").addEventListener("click", () => stage.zoomBy(1.25));
$("zoom-out").addEventListener("click", () => stage.zoomBy(0.8));
$("fit").addEventListener("click", () => stage.fit());
$("drag-mode").addEventListener("change", () => (stage.dragMode = $("drag-mode").value));
$("invert").addEventListener("change", () => setInvert($("invert").checked));
function setWindowTarget(target) {
  $("wl-target").value = target;
  stage.linked = target === "both";
  if (!stage.linked) stage.active = target;
  showWindow();
}

$("wl-target").addEventListener("change", () => {
  state.unlinkedForUnmap = false;
  setWindowTarget($("wl-target").value);
});
$("split").addEventListener("input", () => stage.setSplit($("split").value / 100));
$("stage").addEventListener("split", (event) => ($("split").value = Math.round(event.detail * 100)));
$("auto-window").addEventListener("click", () => windowAll((layer) => layer.autoWindow()));
$("full-window").addEventListener("click", () => windowAll((layer) => layer.resetWindow()));

function windowAll(change) {
  const layers = stage.windowTargets();
  for (const layer of layers) change(layer);
  stage.onWindow(layers);
}

function setInvert(on) {
  state.invert = on;
  $("invert").checked = on;
  for (const layer of [stage.original, stage.result]) if (layer) layer.render(on);
  stage.request();
}

$("stage").addEventListener("keydown", (event) => {
  const step = 40;
  const keys = {
    ArrowLeft: () => stage.panBy(step, 0),
    ArrowRight: () => stage.panBy(-step, 0),
    ArrowUp: () => stage.panBy(0, step),
    ArrowDown: () => stage.panBy(0, -step),
    "+": () => stage.zoomBy(1.25),
    "=": () => stage.zoomBy(1.25),
    "-": () => stage.zoomBy(0.8),
    0: () => stage.fit(),
    "[": () => stage.adjustWindow(stage.windowTargets(), -8, 0),
    "]": () => stage.adjustWindow(stage.windowTargets(), 8, 0),
    ";": () => stage.adjustWindow(stage.windowTargets(), 0, 8),
    "'": () => stage.adjustWindow(stage.windowTargets(), 0, -8),
    i: () => setInvert(!state.invert),
    1: () => setView("original"),
    2: () => setView("result"),
    3: () => setView("side"),
    4: () => setView("split"),
    5: () => setView("diff"),
    ",": () => stage.setSplit(stage.split - 0.05),
    ".": () => stage.setSplit(stage.split + 0.05),
  };
  const action = keys[event.key];
  if (action && !event.ctrlKey && !event.metaKey && !event.altKey) {
    event.preventDefault();
    action();
  }
});

// --- filters ----------------------------------------------------------------------------------

function showFilterControls() {
  const name = $("filter-name").value;
  $("mode-group").hidden = name !== "select";
  $("task-group").hidden = name !== "supreme" && name !== "ae";
  const tasks = name === "ae" ? AE_TASKS : SUPREME_TASKS;
  const current = $("task").value || "general";
  $("task").replaceChildren(
    ...tasks.map((task) => {
      const option = document.createElement("option");
      option.value = option.textContent = task;
      return option;
    }),
  );
  $("task").value = tasks.includes(current) ? current : "general";
}

function filterParams() {
  const name = $("filter-name").value;
  if (name === "unmap") return { name, params: null };
  if (name === "select") return { name, params: { enhancementMode: $("mode").value } };
  return { name, params: { task: $("task").value, sharpness: Number($("sharpness").value) } };
}

$("filter-name").addEventListener("change", showFilterControls);
$("sharpness").addEventListener("input", () => ($("sharpness-value").value = $("sharpness").value));
// A changed parameter re-applies at once when a result is already on screen.
for (const id of ["filter-name", "mode", "task", "sharpness"]) {
  $(id).addEventListener("change", () => {
    if (state.result) applyFilter();
  });
}
$("filter").addEventListener("submit", (event) => {
  event.preventDefault();
  applyFilter();
});

async function applyFilter() {
  if (!state.image) return;
  clearError();
  const { name, params } = filterParams();
  const key = `${name} ${JSON.stringify(params || {})}`;
  if (state.request) state.request.abort();
  const request = (state.request = new AbortController());
  for (const mark of ["filter-click", "filter-received", "filter-decoded", "filter-shown"]) performance.clearMarks(mark);
  performance.clearMeasures("filter");
  performance.mark("filter-click");
  say(`Applying ${describe(name, params)}…`);
  try {
    // TIFF for the screen: the server writes it uncompressed, so decoding it here is one copy.
    const blob = await api.applyFilter(state.image.id, name, params, "image/tiff", request.signal);
    performance.mark("filter-received");
    const layer = new Layer(decodeTiff16(await blob.arrayBuffer()));
    performance.mark("filter-decoded");
    if (request.signal.aborted) return;
    if (name === "unmap") {
      // unmap answers sensor values (0 .. totalGrays - 1), not display values: a window of its own.
      layer.autoWindow();
      if (stage.linked) state.unlinkedForUnmap = true;
      setWindowTarget("result");
    } else {
      // The other filters answer in the original's display scale: start from its window.
      layer.lo = stage.original.lo;
      layer.hi = stage.original.hi;
      if (state.unlinkedForUnmap) setWindowTarget("both");
      state.unlinkedForUnmap = false;
    }
    layer.render(state.invert);
    stage.result = layer;
    state.result = { name, params, key };
    setView(stage.mode === "original" ? "side" : stage.mode);
    stage.draw();
    await nextFrame();
    performance.mark("filter-shown");
    performance.measure("filter", "filter-click", "filter-shown");
    $("stage").dataset.result = key;
    showDownloads();
    const ms = Math.round(performance.getEntriesByName("filter").at(-1).duration);
    say(`${describe(name, params)} shown (${ms} ms).`);
  } catch (error) {
    fail(error);
  } finally {
    if (state.request === request) state.request = null;
  }
}

function describe(name, params) {
  if (!params) return name;
  return `${name} ${Object.values(params).join(" ")}`;
}

// --- downloads --------------------------------------------------------------------------------

function showDownloads() {
  const buttons = api.OUTPUT_TYPES.map(({ type, ext, label }) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = ext.toUpperCase();
    button.title = label;
    button.setAttribute("aria-label", `Download the result as ${label}`);
    button.disabled = !state.result;
    button.addEventListener("click", () => download(type, ext));
    return button;
  });
  $("download-buttons").replaceChildren(...buttons);
}

async function download(type, ext) {
  const { name, params } = state.result;
  const id = state.image.id;
  try {
    const blob = await api.applyFilter(id, name, params, type);
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = `${shortId(id)}-${[name, ...Object.values(params || {})].join("-")}.${ext}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say(`Downloaded ${link.download}.`);
  } catch (error) {
    fail(error);
  }
}

// --- start ------------------------------------------------------------------------------------

showFilterControls();
showDownloads();
setView("original");
if (api.signedIn()) {
  showApp(sessionStorage.getItem("dsio-filters-viewer.user"));
} else {
  showSignIn();
}
