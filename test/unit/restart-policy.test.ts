/** The camera's restart policy, row by row: what follows an ffmpeg exit for each combination that matters. */
import { describe, expect, it } from "vitest";
import { nextStep, RECONNECT_BACKOFF_S, retryDelayS, type ExitFacts, type NextStep } from "../../src/media/restart-policy.ts";

/** A camera that was streaming video with audio and software decoding, unwatched, at its first attempt. */
const base: ExitFacts = {
  wanted: true,
  endedFor: undefined,
  missingAudio: false,
  hwFailed: false,
  frontEndFailed: false,
  proxyFailed: false,
  gstCodec: undefined,
  frames: 100,
  audio: true,
  hwaccel: "none",
  frontEnd: "ffmpeg",
  lean: false,
  attempt: 0,
  watched: false,
};

const rows: [name: string, facts: Partial<ExitFacts>, step: NextStep][] = [
  ["stopped: nothing runs next", { wanted: false }, { kind: "idle" }],
  ["stopped while resyncing: still nothing", { wanted: false, endedFor: "resync" }, { kind: "idle" }],
  ["stopped with a missing audio stream: no fallback either", { wanted: false, missingAudio: true }, { kind: "idle" }],
  ["ended to catch up with the live picture: respawn at once", { endedFor: "resync" }, { kind: "respawn" }],
  ["resync wins over a missing-audio line", { endedFor: "resync", missingAudio: true }, { kind: "respawn" }],
  ["no audio stream in the camera: drop audio", { missingAudio: true, frames: 0 }, { kind: "fallback", drop: "audio" }],
  [
    "missing audio reported again with audio already off: a plain retry",
    { missingAudio: true, audio: false },
    { kind: "retry", delayS: 1, attempt: 1 },
  ],
  [
    "hardware decoder failed before any frame: software decoding",
    { hwFailed: true, hwaccel: "vaapi", frames: 0 },
    { kind: "fallback", drop: "hwaccel" },
  ],
  ["hwaccel auto failed the same way", { hwFailed: true, hwaccel: "auto", frames: 0 }, { kind: "fallback", drop: "hwaccel" }],
  [
    "missing audio is dropped first, hwaccel on the next exit",
    { missingAudio: true, hwFailed: true, hwaccel: "cuda", frames: 0 },
    { kind: "fallback", drop: "audio" },
  ],
  [
    "hardware decoder failed after frames flowed: the camera is retried as is",
    { hwFailed: true, hwaccel: "vaapi", frames: 3 },
    { kind: "retry", delayS: 1, attempt: 1 },
  ],
  [
    "hwaccel error text while already in software: a plain retry",
    { hwFailed: true, hwaccel: "none", frames: 0 },
    { kind: "retry", delayS: 1, attempt: 1 },
  ],
  [
    "the lean ffmpeg lacks a part before any frame: the full ffmpeg reads the camera",
    { frontEndFailed: true, lean: true, frames: 0 },
    { kind: "fallback", drop: "lean" },
  ],
  [
    "the lean ffmpeg lacked a part after frames flowed (cannot be the build): retried as is",
    { frontEndFailed: true, lean: true, frames: 5 },
    { kind: "retry", delayS: 1, attempt: 1 },
  ],
  [
    "the full ffmpeg lacks a part: nothing to fall back to, a plain retry",
    { frontEndFailed: true, lean: false, frames: 0 },
    { kind: "retry", delayS: 1, attempt: 1 },
  ],
  [
    "the lean build's part is missing and the audio stream too: the lean build goes first",
    { frontEndFailed: true, lean: true, missingAudio: true, frames: 0 },
    { kind: "fallback", drop: "lean" },
  ],
  [
    "the frame-end proxy is the suspect (video through it, no frame): ffmpeg reads the camera directly",
    { proxyFailed: true, frames: 0 },
    { kind: "fallback", drop: "proxy" },
  ],
  [
    "a missing audio stream is dropped before the proxy",
    { proxyFailed: true, missingAudio: true, frames: 0 },
    { kind: "fallback", drop: "audio" },
  ],
  ["stopped with the proxy suspect: nothing runs next", { wanted: false, proxyFailed: true }, { kind: "idle" }],
  [
    "GStreamer cannot read this camera (H.265, MJPEG, no plugin): ffmpeg",
    { frontEnd: "gstreamer", frontEndFailed: true, frames: 0 },
    { kind: "fallback", drop: "gstreamer" },
  ],
  [
    "GStreamer failed after frames flowed: the camera is retried as is",
    { frontEnd: "gstreamer", frontEndFailed: true, frames: 5 },
    { kind: "retry", delayS: 1, attempt: 1 },
  ],
  [
    "GStreamer camera away (no unsupported line): a plain retry, GStreamer kept",
    { frontEnd: "gstreamer", frames: 0 },
    { kind: "retry", delayS: 1, attempt: 1 },
  ],
  ["a failure flag under ffmpeg means nothing", { frontEndFailed: true, frames: 0 }, { kind: "retry", delayS: 1, attempt: 1 }],
  [
    "the camera sends H.265: GStreamer's H.265 chain",
    { frontEnd: "gstreamer", frontEndFailed: true, gstCodec: "h265", frames: 0 },
    { kind: "gstCodec", codec: "h265" },
  ],
  [
    "GStreamer's fallback comes before the audio one",
    { frontEnd: "gstreamer", frontEndFailed: true, missingAudio: true, frames: 0 },
    { kind: "fallback", drop: "gstreamer" },
  ],
  [
    "resync wins over a GStreamer failure",
    { frontEnd: "gstreamer", frontEndFailed: true, frames: 0, endedFor: "resync" },
    { kind: "respawn" },
  ],
  ["a stall: retried with backoff", { endedFor: "stall" }, { kind: "retry", delayS: 1, attempt: 1 }],
  ["the camera went away: first backoff step", {}, { kind: "retry", delayS: 1, attempt: 1 }],
  ["third failure in a row", { attempt: 2, frames: 0 }, { kind: "retry", delayS: 5, attempt: 3 }],
  ["the last step repeats", { attempt: 9, frames: 0 }, { kind: "retry", delayS: 30, attempt: 10 }],
  ["watched: never more than 1 s", { attempt: 9, frames: 0, watched: true }, { kind: "retry", delayS: 1, attempt: 10 }],
];

describe("nextStep", () => {
  it.each(rows)("%s", (_name, facts, step) => {
    expect(nextStep({ ...base, ...facts })).toEqual(step);
  });
});

describe("retryDelayS", () => {
  it("walks the backoff, then stays at its last step", () => {
    expect(Array.from({ length: 7 }, (_, i) => retryDelayS(i, false))).toEqual([1, 2, 5, 10, 30, 30, 30]);
    expect(RECONNECT_BACKOFF_S.at(-1)).toBe(30);
  });

  it("is at most 1 s while calls watch", () => {
    expect(Array.from({ length: 7 }, (_, i) => retryDelayS(i, true))).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });
});
