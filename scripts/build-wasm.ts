/**
 * Builds src/media/halve.wat into src/media/halve-wasm.ts (the module's bytes, base64), which the bot loads: the
 * bot needs no WebAssembly tool at run time, and the text stays the source. `npx tsx scripts/build-wasm.ts` after a
 * change of the .wat; the unit test frame-scaler.test.ts fails while the two differ.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

const media = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "media");
export const WAT_FILE = path.join(media, "halve.wat");
export const OUT_FILE = path.join(media, "halve-wasm.ts");

/** The module's bytes, built from the .wat (SIMD on, nothing else beyond the MVP). */
export async function buildHalveWasm(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat("halve.wat", readFileSync(WAT_FILE, "utf8"), { simd: true });
  try {
    parsed.validate();
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}

/** halve-wasm.ts as it should read for these bytes. */
export function halveWasmSource(bytes: Uint8Array): string {
  return `/** halve.wat built by scripts/build-wasm.ts (do not edit; run it after a change of the .wat). */
export const HALVE_WASM_BASE64 =
  "${Buffer.from(bytes).toString("base64")}";
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await buildHalveWasm();
  writeFileSync(OUT_FILE, halveWasmSource(bytes));
  process.stdout.write(`${OUT_FILE}: ${String(bytes.length)} bytes of WebAssembly\n`);
}
