import type * as Wrtc from "@roamhq/wrtc";
import { nonstandard } from "../rtc/wrtc.ts";
import type { Logger } from "../util/logger.ts";
import { MIX_RATE } from "./mixer.ts";

interface AudioData {
  samples: Int16Array;
  sampleRate: number;
  channelCount?: number;
}

function isAudioData(v: unknown): v is AudioData {
  if (typeof v !== "object" || v === null) return false;
  const d = v as Record<string, unknown>;
  return d["samples"] instanceof Int16Array && typeof d["sampleRate"] === "number";
}

/**
 * The callee's audio as the bot's peer connection decodes it, through wrtc's nonstandard RTCAudioSink: 10 ms of
 * 48 kHz PCM per callback, from libwebrtc's own clock — silence while the callee is muted (their track disabled) or
 * holds the call (no RTP comes in), as measured with a wrtc pair. `stop()` detaches it (the track stays: wrtc owns it).
 */
export class CallListener {
  private readonly sink: Wrtc.nonstandard.RTCAudioSink;
  private wrongRateLogged = false;

  constructor(
    track: MediaStreamTrack,
    onAudio: (samples: Int16Array, channels: number) => void,
    private readonly log: Logger,
  ) {
    this.sink = new nonstandard.RTCAudioSink(track);
    this.sink.ondata = (data: unknown) => {
      if (!isAudioData(data)) return;
      if (data.sampleRate !== MIX_RATE) {
        // Opus decodes at 48 kHz; anything else (not seen with wrtc) is left out rather than played at the wrong pitch.
        if (!this.wrongRateLogged) this.log.warn({ sampleRate: data.sampleRate }, "talkback: the callee's audio is not 48 kHz; not played");
        this.wrongRateLogged = true;
        return;
      }
      onAudio(data.samples, Math.max(1, data.channelCount ?? 1));
    };
  }

  stop(): void {
    this.sink.ondata = null;
    if (!this.sink.stopped) this.sink.stop();
  }
}
