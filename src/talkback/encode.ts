import type { TalkbackFormat } from "./output.ts";
import { encodeAlaw, encodeUlaw } from "./g711.ts";
import { MIX_RATE } from "./mixer.ts";
import { Decimator } from "./resample.ts";

/** 48 kHz frames → `rate` in `format`, as bytes (s16le, or G.711 at 8 kHz). */
export class FrameEncoder {
  private readonly decimator: Decimator;

  constructor(
    private readonly format: TalkbackFormat,
    rate: number,
  ) {
    this.decimator = new Decimator(MIX_RATE, rate);
  }

  encode(frame: Int16Array): Uint8Array {
    const pcm = this.decimator.process(frame);
    if (this.format === "pcmu") return encodeUlaw(pcm);
    if (this.format === "pcma") return encodeAlaw(pcm);
    const out = Buffer.alloc(pcm.length * 2);
    for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i] ?? 0, i * 2);
    return out;
  }
}
