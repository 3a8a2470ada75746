/**
 * The frame stamp of test/harness/rtsp_camera.py --stamp (test/harness/camera_stamp.py), read (and for synthetic frames written) in TypeScript.
 *
 * 3 rows x 32 cells at the top of the Y plane; a cell is width/32 wide and height/18 tall, black (bit 0) or white
 * (bit 1). 96 bits, most significant first: start marker 0xB2, 48-bit capture time (ms since the epoch), 16-bit
 * sequence, CRC-16/CCITT-FALSE of those 8 bytes, end marker 0x4D. Any mismatch is a misread, never a sample.
 */

export const STAMP_COLS = 32;
export const STAMP_ROWS = 3;
const ROW_DIVISOR = 18;
const START = 0xb2;
const END = 0x4d;
const BLACK = 16;
const WHITE = 235;

export interface Stamp {
  /** Capture wall-clock time, ms since the Unix epoch. */
  ms: number;
  seq: number;
}

export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The 12 bytes of a stamp, most significant bit of byte 0 first (cell 0). */
function stampBytes(ms: number, seq: number): Uint8Array {
  const out = new Uint8Array(12);
  out[0] = START;
  let t = Math.floor(ms);
  for (let i = 6; i >= 1; i--) {
    out[i] = t % 256;
    t = Math.floor(t / 256);
  }
  out[7] = (seq >> 8) & 0xff;
  out[8] = seq & 0xff;
  const crc = crc16(out.subarray(1, 9));
  out[9] = crc >> 8;
  out[10] = crc & 0xff;
  out[11] = END;
  return out;
}

/** Reads the stamp from an I420 frame (Y plane first, stride = width). Undefined when it does not check out. */
export function readStamp(frame: { width: number; height: number; data: Uint8Array }): Stamp | undefined {
  const { width, height, data } = frame;
  if (width < STAMP_COLS * 2 || height < ROW_DIVISOR || data.length < width * height) return undefined;
  const bytes = new Uint8Array(12);
  const cellW = width / STAMP_COLS;
  const cellH = height / ROW_DIVISOR;
  for (let bit = 0; bit < STAMP_COLS * STAMP_ROWS; bit++) {
    const row = Math.floor(bit / STAMP_COLS);
    const col = bit % STAMP_COLS;
    const cx = Math.floor((col + 0.5) * cellW);
    const cy = Math.floor((row + 0.5) * cellH);
    // Mean of a 3x3 patch at the middle of the cell.
    let sum = 0;
    for (let dy = -1; dy <= 1; dy++) {
      const base = (cy + dy) * width + cx;
      sum += (data[base - 1] ?? 0) + (data[base] ?? 0) + (data[base + 1] ?? 0);
    }
    if (sum / 9 >= 128) {
      const i = bit >> 3;
      bytes[i] = (bytes[i] ?? 0) | (0x80 >> (bit & 7));
    }
  }
  if (bytes[0] !== START || bytes[11] !== END) return undefined;
  const crc = ((bytes[9] ?? 0) << 8) | (bytes[10] ?? 0);
  if (crc16(bytes.subarray(1, 9)) !== crc) return undefined;
  let ms = 0;
  for (let i = 1; i <= 6; i++) ms = ms * 256 + (bytes[i] ?? 0);
  const seq = ((bytes[7] ?? 0) << 8) | (bytes[8] ?? 0);
  return { ms, seq };
}

/** Writes a stamp into the Y plane of an I420 frame (stride = width), as the camera does. */
export function writeStamp(frame: { width: number; height: number; data: Uint8Array }, ms: number, seq: number): void {
  const { width, height, data } = frame;
  const bytes = stampBytes(ms, seq);
  const xs = Array.from({ length: STAMP_COLS + 1 }, (_, i) => Math.round((i * width) / STAMP_COLS));
  for (let row = 0; row < STAMP_ROWS; row++) {
    const y0 = Math.round((row * height) / ROW_DIVISOR);
    const y1 = Math.round(((row + 1) * height) / ROW_DIVISOR);
    const line = data.subarray(y0 * width, y0 * width + width);
    for (let col = 0; col < STAMP_COLS; col++) {
      const bit = row * STAMP_COLS + col;
      const on = ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0;
      line.fill(on ? WHITE : BLACK, xs[col] ?? 0, xs[col + 1] ?? width);
    }
    for (let y = y0 + 1; y < y1; y++) data.copyWithin(y * width, y0 * width, y0 * width + width);
  }
}

/**
 * Wall-clock now in ms since the epoch: CLOCK_REALTIME, the clock Python's time.time_ns() reads in the camera.
 * (performance.timeOrigin + performance.now() is monotonic and may drift from it under NTP slewing over a long run.)
 */
export function nowMs(): number {
  return Date.now();
}
