// A small decoder for the PNGs this server sends: grayscale, 16 (or 8) bits, not interlaced.
// The browser's own <img> decoding would reduce 16 bits to 8; window/level needs all 16.
// IDAT is inflated by the browser's DecompressionStream (native zlib), the row filters are undone here.

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export class PngError extends Error {}

/** Decode PNG bytes to {width, height, data: Uint16Array} (8-bit samples are scaled to 16 bits). */
export async function decodePng16(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new PngError("not a PNG file");
  let pos = 8;
  let header = null;
  const idat = [];
  while (pos + 8 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const start = pos + 8;
    if (start + length > bytes.length) throw new PngError("truncated PNG");
    if (type === "IHDR") {
      header = {
        width: view.getUint32(start),
        height: view.getUint32(start + 4),
        depth: bytes[start + 8],
        color: bytes[start + 9],
        interlace: bytes[start + 12],
      };
    } else if (type === "IDAT") {
      idat.push(bytes.subarray(start, start + length));
    } else if (type === "IEND") {
      break;
    }
    pos = start + length + 4; // data + CRC (the server checked CRCs on upload and writes its own)
  }
  if (!header) throw new PngError("PNG without IHDR");
  const { width, height, depth, color, interlace } = header;
  if (color !== 0 || (depth !== 16 && depth !== 8) || interlace !== 0) {
    throw new PngError(`unsupported PNG (colour type ${color}, ${depth}-bit, interlace ${interlace})`);
  }
  const raw = await inflate(idat);
  const bpp = depth / 8; // bytes per pixel: grayscale, one sample
  const stride = width * bpp;
  if (raw.length < (stride + 1) * height) throw new PngError("PNG image data is too short");
  const pixels = unfilter(raw, width, height, bpp);
  const data = new Uint16Array(width * height);
  if (depth === 16) {
    for (let i = 0, j = 0; i < data.length; i++, j += 2) data[i] = (pixels[j] << 8) | pixels[j + 1];
  } else {
    for (let i = 0; i < data.length; i++) data[i] = pixels[i] * 257;
  }
  return { width, height, data };
}

async function inflate(parts) {
  const stream = new Blob(parts).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Undo PNG's per-row filters (None, Sub, Up, Average, Paeth) into a new buffer without filter bytes. */
function unfilter(raw, width, height, bpp) {
  const stride = width * bpp;
  const out = new Uint8Array(stride * height);
  let prev = new Uint8Array(stride); // the row above the first is all zeros
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = out.subarray(y * stride, (y + 1) * stride);
    switch (filter) {
      case 0:
        row.set(src);
        break;
      case 1:
        for (let i = 0; i < stride; i++) row[i] = src[i] + (i >= bpp ? row[i - bpp] : 0);
        break;
      case 2:
        for (let i = 0; i < stride; i++) row[i] = src[i] + prev[i];
        break;
      case 3:
        for (let i = 0; i < stride; i++) row[i] = src[i] + (((i >= bpp ? row[i - bpp] : 0) + prev[i]) >> 1);
        break;
      case 4:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? row[i - bpp] : 0;
          const b = prev[i];
          const c = i >= bpp ? prev[i - bpp] : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          row[i] = src[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        }
        break;
      default:
        throw new PngError(`bad PNG row filter ${filter}`);
    }
    prev = row;
  }
  return out;
}
