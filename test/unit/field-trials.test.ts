/**
 * libwebrtc's field trials set through wrtc.node's memory (src/rtc/field-trials.ts), on the real wrtc.node. The proof
 * that libwebrtc reads what was written: a trial whose effect JavaScript can see (`WebRTC-FlexFEC-03-Advertised`
 * adds the flexfec-03 codec to an offer), in a fresh Node process each, since the trials are set once per process.
 * The pacing trial itself is measured by the bench (docs/benchmark.md).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { readElfSymbol } from "../../src/rtc/elf-symbol.ts";
import { applyFieldTrials, pacingTrials, TRIALS_SYMBOL, videoTrials } from "../../src/rtc/field-trials.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const wrtcNode = path.join(ROOT, "node_modules/@roamhq/wrtc-linux-x64/wrtc.node");
const here = process.platform === "linux" && process.arch === "x64" && existsSync(wrtcNode);
const dir = mkdtempSync(path.join(tmpdir(), "mcc-trials-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

type Offer = { outcome: unknown; flexfec: boolean; again?: unknown };
let scripts = 0;

/** Runs a script in a fresh Node process: its trials (none: "") applied, then an offer; what it printed. */
async function offerIn(trials: string, then = ""): Promise<Offer> {
  const script = path.join(dir, `offer-${String(scripts++)}.mts`);
  writeFileSync(
    script,
    [
      `import { applyFieldTrials } from ${JSON.stringify(path.join(ROOT, "src/rtc/field-trials.ts"))};`,
      `import { RTCPeerConnection } from ${JSON.stringify(path.join(ROOT, "src/rtc/wrtc.ts"))};`,
      `const outcome = ${JSON.stringify(trials)} === "" ? null : applyFieldTrials(${JSON.stringify(trials)});`,
      `const again = ${JSON.stringify(then)} === "" ? undefined : applyFieldTrials(${JSON.stringify(then)});`,
      "const pc = new RTCPeerConnection();",
      'pc.addTransceiver("video");',
      "const offer = await pc.createOffer();",
      "pc.close();",
      'console.log(JSON.stringify({ outcome, again, flexfec: (offer.sdp ?? "").includes("flexfec-03") }));',
    ].join("\n"),
  );
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script], { cwd: ROOT, timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Offer;
}

describe.skipIf(!here)("readElfSymbol", () => {
  it("finds libwebrtc's trials pointer in wrtc.node: an 8-byte variable inside a writable segment", () => {
    const { segments, symbol } = readElfSymbol(wrtcNode, TRIALS_SYMBOL);
    expect(symbol).toMatchObject({ size: 8n, isObject: true });
    const value = symbol?.value ?? -1n;
    expect(segments.some((s) => s.writable && value >= s.vaddr && value + 8n <= s.vaddr + s.memsz)).toBe(true);
  });

  it("a name it does not have is undefined; a file that is not ELF is an error that says so", () => {
    expect(readElfSymbol(wrtcNode, "no_such_symbol_anywhere").symbol).toBeUndefined();
    expect(() => readElfSymbol(path.join(ROOT, "package.json"), TRIALS_SYMBOL)).toThrow(/is not an ELF file/);
  });
});

describe.skipIf(!here)("applyFieldTrials", () => {
  it("libwebrtc reads the trials it sets: the offer advertises flexfec-03 only with that trial", { timeout: 120_000 }, async () => {
    const [on, off] = await Promise.all([offerIn(`${pacingTrials(2.5)}WebRTC-FlexFEC-03-Advertised/Enabled/`), offerIn("")]);
    expect(on).toMatchObject({ outcome: { applied: true }, flexfec: true });
    expect(off).toMatchObject({ outcome: null, flexfec: false });
  });

  it("once per process: the same trials again are applied, other trials are refused with the reason", { timeout: 120_000 }, async () => {
    const [same, other] = await Promise.all([
      offerIn(pacingTrials(2.5), pacingTrials(2.5)),
      offerIn(pacingTrials(2.5), "WebRTC-FlexFEC-03-Advertised/Enabled/"),
    ]);
    expect(same).toMatchObject({ outcome: { applied: true }, again: { applied: true } });
    expect(other).toMatchObject({ again: { applied: false, why: "libwebrtc's field trials are set already" }, flexfec: false });
  });

  it("a malformed trial string is refused before anything is touched", () => {
    expect(applyFieldTrials("WebRTC-Video-Pacing")).toEqual({ applied: false, why: "not a field trial string: WebRTC-Video-Pacing" });
    expect(applyFieldTrials("a/b/c")).toMatchObject({ applied: false });
    expect(pacingTrials(2.5)).toBe("WebRTC-Video-Pacing/factor:2.5/");
    // libwebrtc's own factor is not written at all; the smaller pictures' caps always are.
    expect(videoTrials(1.1)).toMatch(/^WebRTC-VP8-GetEncoderInfoOverride\/[^/]+\/$/);
    expect(videoTrials(2.5)).toBe(`WebRTC-Video-Pacing/factor:2.5/${videoTrials(1.1)}`);
  });
});
