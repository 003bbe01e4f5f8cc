// A decoder for the TIFFs this server writes for filter results: one grayscale sample of 16 (or 8)
// bits, uncompressed, in strips. Decoding is a copy, so filter results are fetched as TIFF for the
// screen (a PNG would need inflating and unfiltering in the page: several times slower).

export class TiffError extends Error {}

const TAG = {
  width: 256,
  height: 257,
  bits: 258,
  compression: 259,
  photometric: 262,
  stripOffsets: 273,
  samples: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
};

/** Decode TIFF bytes to {width, height, data: Uint16Array} (8-bit samples scaled to 16 bits). */
export function decodeTiff16(buffer) {
  const view = new DataView(buffer);
  const order = view.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) throw new TiffError("not a TIFF file");
  const little = order === 0x4949;
  if (view.getUint16(2, little) !== 42) throw new TiffError("not a classic TIFF file");
  const ifd = view.getUint32(4, little);
  const count = view.getUint16(ifd, little);
  const tags = new Map();
  for (let i = 0; i < count; i++) {
    const at = ifd + 2 + i * 12;
    tags.set(view.getUint16(at, little), values(view, at, little));
  }
  const first = (tag, fallback) => (tags.has(tag) ? tags.get(tag)[0] : fallback);
  const width = first(TAG.width);
  const height = first(TAG.height);
  const bits = first(TAG.bits, 1);
  if (first(TAG.compression, 1) !== 1 || first(TAG.samples, 1) !== 1 || (bits !== 16 && bits !== 8)) {
    throw new TiffError("unsupported TIFF (only uncompressed 8- or 16-bit grayscale)");
  }
  const offsets = tags.get(TAG.stripOffsets);
  const counts = tags.get(TAG.stripByteCounts);
  const data = new Uint16Array(width * height);
  const invert = first(TAG.photometric, 1) === 0; // WhiteIsZero
  let pixel = 0;
  for (let s = 0; s < offsets.length && pixel < data.length; s++) {
    const n = Math.min(counts[s] / (bits / 8), data.length - pixel);
    if (offsets[s] + n * (bits / 8) > buffer.byteLength) throw new TiffError("truncated TIFF");
    if (bits === 16) {
      if (little && offsets[s] % 2 === 0) {
        data.set(new Uint16Array(buffer, offsets[s], n), pixel); // one copy (browsers run little-endian)
      } else {
        for (let i = 0; i < n; i++) data[pixel + i] = view.getUint16(offsets[s] + 2 * i, little);
      }
    } else {
      const bytes = new Uint8Array(buffer, offsets[s], n);
      for (let i = 0; i < n; i++) data[pixel + i] = bytes[i] * 257;
    }
    pixel += n;
  }
  if (invert) for (let i = 0; i < data.length; i++) data[i] = 65535 - data[i];
  return { width, height, data };
}

/** The values of one IFD entry (SHORT or LONG), inline or at their offset. */
function values(view, at, little) {
  const type = view.getUint16(at + 2, little);
  const n = view.getUint32(at + 4, little);
  const size = type === 3 ? 2 : 4;
  const start = n * size <= 4 ? at + 8 : view.getUint32(at + 8, little);
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = size === 2 ? view.getUint16(start + 2 * i, little) : view.getUint32(start + 4 * i, little);
  }
  return out;
}
