/**
 * libwebrtc's field trials set through wrtc.node's memory (src/rtc/field-trials.ts), on the real wrtc.node. The proof
 * that libwebrtc reads what was written: a trial whose effect JavaScript can see (`WebRTC-FlexFEC-03-Advertised`
 * adds the flexfec-03 codec to an offer), in a fresh Node process each, since the trials are set once per process.
 * The pacing trial itself is measured by the bench (docs/benchmark.md).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readElfSymbol } from "../../src/rtc/elf-symbol.ts";
import { applyFieldTrials, pacingTrials, TRIALS_SYMBOL } from "../../src/rtc/field-trials.ts";

const wrtcNode = createRequire(import.meta.url).resolve("@roamhq/wrtc-linux-x64/wrtc.node");

/** Runs a script in a fresh Node process: its trials (none: "") applied, then an offer; what it printed. */
function offerIn(trials: string, then = ""): { outcome: unknown; flexfec: boolean; again?: unknown } {
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-trials-"));
  const script = path.join(dir, "offer.mts");
  writeFileSync(
    script,
    [
      `import { applyFieldTrials } from ${JSON.stringify(path.resolve("src/rtc/field-trials.ts"))};`,
      `import { RTCPeerConnection } from ${JSON.stringify(path.resolve("src/rtc/wrtc.ts"))};`,
      `const outcome = ${JSON.stringify(trials)} === "" ? null : applyFieldTrials(${JSON.stringify(trials)});`,
      `const again = ${JSON.stringify(then)} === "" ? undefined : applyFieldTrials(${JSON.stringify(then)});`,
      "const pc = new RTCPeerConnection();",
      'pc.addTransceiver("video");',
      "const offer = await pc.createOffer();",
      "pc.close();",
      'console.log(JSON.stringify({ outcome, again, flexfec: (offer.sdp ?? "").includes("flexfec-03") }));',
    ].join("\n"),
  );
  const out = execFileSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", cwd: process.cwd(), timeout: 30_000 });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { outcome: unknown; flexfec: boolean; again?: unknown };
}

describe("readElfSymbol", () => {
  it("finds libwebrtc's trials pointer in wrtc.node: an 8-byte variable inside a writable segment", () => {
    const { segments, symbol } = readElfSymbol(wrtcNode, TRIALS_SYMBOL);
    expect(symbol).toMatchObject({ size: 8n, isObject: true });
    const value = symbol?.value ?? -1n;
    expect(segments.some((s) => s.writable && value >= s.vaddr && value + 8n <= s.vaddr + s.memsz)).toBe(true);
  });

  it("a name it does not have is undefined; a file that is not ELF is an error that says so", () => {
    expect(readElfSymbol(wrtcNode, "no_such_symbol_anywhere").symbol).toBeUndefined();
    expect(() => readElfSymbol(path.resolve("package.json"), TRIALS_SYMBOL)).toThrow(/is not an ELF file/);
  });
});

describe("applyFieldTrials", () => {
  it("libwebrtc reads the trials it sets: the offer advertises flexfec-03 only with that trial", () => {
    const on = offerIn(`${pacingTrials(2.5)}WebRTC-FlexFEC-03-Advertised/Enabled/`);
    expect(on).toMatchObject({ outcome: { applied: true }, flexfec: true });
    expect(offerIn("")).toMatchObject({ outcome: null, flexfec: false });
  });

  it("once per process: the same trials again are applied, other trials are refused with the reason", () => {
    const same = offerIn(pacingTrials(2.5), pacingTrials(2.5));
    expect(same).toMatchObject({ outcome: { applied: true }, again: { applied: true } });
    const other = offerIn(pacingTrials(2.5), "WebRTC-FlexFEC-03-Advertised/Enabled/");
    expect(other).toMatchObject({ again: { applied: false, why: "libwebrtc's field trials are set already" }, flexfec: false });
  });

  it("a malformed trial string is refused before anything is touched", () => {
    expect(applyFieldTrials("WebRTC-Video-Pacing")).toEqual({ applied: false, why: "not a field trial string: WebRTC-Video-Pacing" });
    expect(applyFieldTrials("a/b/c")).toMatchObject({ applied: false });
    expect(pacingTrials(2.5)).toBe("WebRTC-Video-Pacing/factor:2.5/");
  });
});
