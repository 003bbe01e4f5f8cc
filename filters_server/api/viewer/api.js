// The Filters API as the page uses it. Credentials live in this tab only (sessionStorage), never
// in localStorage or cookies, and go with every call as a Basic Authorization header.
// "X-Requested-With: XMLHttpRequest" asks the server to leave out the Basic challenge on 401,
// so the browser shows our message instead of its own login dialog.

const STORE_KEY = "dsio-filters-viewer.authorization";

/** The API base: the page lives at {base}/viewer/. */
export const BASE = location.pathname.replace(/\/viewer\/[^/]*$/, "");

export const OUTPUT_TYPES = [
  { type: "image/png", ext: "png", label: "PNG (16-bit)" },
  { type: "image/tiff", ext: "tiff", label: "TIFF (16-bit)" },
  { type: "image/jpeg", ext: "jpg", label: "JPEG (8-bit)" },
  { type: "image/gif", ext: "gif", label: "GIF (8-bit)" },
  { type: "application/dicom", ext: "dcm", label: "DICOM" },
];

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

let authorization = sessionStorage.getItem(STORE_KEY);

export function signedIn() {
  return authorization !== null;
}

function basic(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return "Basic " + btoa(String.fromCharCode(...bytes));
}

/** Check the credentials with a cheap call; keep them for this tab only if they work. */
export async function signIn(user, password) {
  const candidate = basic(user, password);
  await call("GET", "/images?limit=1", { authorization: candidate });
  authorization = candidate;
  sessionStorage.setItem(STORE_KEY, candidate);
}

export function signOut() {
  authorization = null;
  sessionStorage.removeItem(STORE_KEY);
}

async function call(method, path, { body, accept, signal, authorization: auth = authorization, contentType } = {}) {
  const headers = { "X-Requested-With": "XMLHttpRequest" };
  if (auth) headers.Authorization = auth;
  if (accept) headers.Accept = accept;
  if (contentType) headers["Content-Type"] = contentType;
  let response;
  try {
    response = await fetch(BASE + path, { method, headers, body, signal, cache: "no-store", credentials: "omit" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The server cannot be reached", error.message);
  }
  if (!response.ok) throw await problem(response);
  return response;
}

async function problem(response) {
  let title = `${response.status} ${response.statusText}`.trim();
  let detail = "";
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    try {
      const doc = await response.json();
      title = `${response.status} ${doc.title || response.statusText}`;
      detail = doc.detail || "";
    } catch {
      // not JSON after all: keep the status line
    }
  }
  if (response.status === 401) detail = "Wrong user name or password, or signed out. Please sign in again.";
  return new ApiError(response.status, title, detail);
}

export async function listImages(cursorUrl = null, limit = 20) {
  const path = cursorUrl ? cursorUrl.slice(cursorUrl.indexOf(BASE) + BASE.length) : `/images?limit=${limit}`;
  return (await call("GET", path)).json();
}

export async function uploadImage(file, imageInfo) {
  const form = new FormData();
  form.append("imageInfo", new Blob([JSON.stringify(imageInfo)], { type: "application/json" }));
  form.append("imageMedia", file, file.name || "image.png");
  return (await call("POST", "/images", { body: form })).json();
}

export async function deleteImage(id) {
  await call("DELETE", `/images/${encodeURIComponent(id)}`);
}

export async function fetchMedia(id, signal) {
  return (await call("GET", `/images/${encodeURIComponent(id)}/media`, { signal })).arrayBuffer();
}

/** A filter result as a Blob; ``params`` null for unmap (it takes no body). */
export async function applyFilter(id, name, params, accept = "image/png", signal = undefined) {
  const body = params ? JSON.stringify(params) : undefined;
  const response = await call("POST", `/images/${encodeURIComponent(id)}/filters/${name}`, {
    body,
    accept,
    signal,
    contentType: body ? "application/json" : undefined,
  });
  return response.blob();
}
