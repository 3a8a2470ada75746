import type { CameraConfig } from "../config/load.ts";
import { DEFAULT_DUCK_DB, type TalkbackConfig } from "../config/talkback-schema.ts";
import { type Logger } from "../util/logger.ts";
import { Ducker } from "./ducker.ts";
import { ExecOutput } from "./exec-output.ts";
import { Mixer, type MixerInput, type MixerInputReport } from "./mixer.ts";
import { OnvifOutput } from "./onvif/backchannel.ts";
import type { TalkbackOutput } from "./output.ts";

/** What talkback needs of a call (OutgoingCall and IncomingCall, the call core, have it). */
export interface TalkbackCall {
  readonly callId: string;
  /** The camera the call shows now (!switch changes it; talkback follows). */
  readonly camera: string;
  readonly state: string;
  /**
   * Hears the callee from now on: `onAudio` gets 48 kHz PCM (10 ms chunks) until stop(); undefined when the call has
   * no callee audio (yet). A legacy call reads its peer connection (CallListener), a MatrixRTC call the callee's
   * microphone in LiveKit.
   */
  listenToCallee(onAudio: (samples: Int16Array, channels: number) => void, log: Logger): CalleeVoice | undefined;
  on(event: "state", listener: (state: string) => void): unknown;
  on(event: "camera", listener: (camera: string) => void): unknown;
  once(event: "ended", listener: () => void): unknown;
}

/** A callee's voice being heard (listenToCallee); stop() lets go of it. */
export interface CalleeVoice {
  stop(): void;
}

/** Turns a camera's own sound toward its calls down (gain < 1) or back up (1). */
export type DuckCamera = (camera: string, gain: number) => void;

/** One camera's talkback while it has connected calls: their mix, one output (many doorbells take one client). */
class CameraTalkback {
  readonly mixer: Mixer;
  private readonly output: TalkbackOutput;
  private gain = 1;

  constructor(
    camera: CameraConfig,
    talkback: Exclude<TalkbackConfig, "off">,
    log: Logger,
    private readonly duck: (gain: number) => void,
  ) {
    this.output =
      typeof talkback === "object" && "exec" in talkback
        ? new ExecOutput(talkback, log)
        : new OnvifOutput(camera.url, talkback !== "auto", log);
    const ducker = new Ducker({ duckDb: typeof talkback === "object" ? talkback.duckDb : DEFAULT_DUCK_DB });
    this.mixer = new Mixer((frame) => {
      this.output.write(frame);
      const gain = ducker.frame(frame);
      if (gain !== this.gain) {
        this.gain = gain;
        this.duck(gain);
      }
    });
    this.mixer.start();
  }

  get describe(): string {
    return this.output.describe;
  }

  close(): void {
    this.mixer.stop();
    this.output.close();
    if (this.gain !== 1) this.duck(1);
  }
}

const CONNECTED = "connected";

/**
 * Talkback for every camera: a call's remote audio (its callee's, the one party whose answer was taken) joins the
 * mix of the camera it shows while the call is connected — never while ringing, not after it ended. The first such
 * call of a camera opens the camera's output, the last one to leave closes it.
 */
export class TalkbackHub {
  private readonly cameras = new Map<string, CameraConfig>();
  private readonly active = new Map<string, CameraTalkback>();
  private readonly calls = new Map<string, { camera: string; input: MixerInput; listener: CalleeVoice }>();

  constructor(
    cameras: readonly CameraConfig[],
    private readonly log: Logger,
    /** Ducking of the camera's sound while its callees talk; nothing when not given (tests of talkback alone). */
    private readonly duck: DuckCamera = () => undefined,
  ) {
    for (const c of cameras) if (c.talkback !== undefined && c.talkback !== "off") this.cameras.set(c.name, c);
  }

  /** Follows a call from its start to its end. */
  watch(call: TalkbackCall): void {
    if (this.cameras.size === 0) return;
    const follow = (): void => {
      if (call.state === CONNECTED) this.join(call);
      else this.leave(call.callId);
    };
    call.on("state", follow);
    // !switch: the voice goes to the door the call shows now (from a camera without talkback too).
    call.on("camera", () => {
      this.leave(call.callId);
      follow();
    });
    call.once("ended", () => {
      this.leave(call.callId);
    });
    follow();
  }

  /** Talkback of a call now: "exec s16le/8000", "onvif PCMU/8000", or undefined when none. */
  describe(callId: string): string | undefined {
    const c = this.calls.get(callId);
    return c === undefined ? undefined : this.active.get(c.camera)?.describe;
  }

  /** Each talking call's queue in its camera's mixer (the bench reads it to tell where talkback latency is held). */
  levels(): ({ callId: string; camera: string } & MixerInputReport)[] {
    return [...this.calls].map(([callId, c]) => ({ callId, camera: c.camera, ...c.input.report() }));
  }

  /** !status lines: talkback per call in progress (nothing at all when no camera has talkback configured). */
  statusLines(calls: readonly { callId: string; peer: string; camera: string }[]): string[] {
    if (this.cameras.size === 0) return [];
    const parts = calls.map(
      (c) => `${c.peer} (${c.camera}): ${this.describe(c.callId) ?? (this.cameras.has(c.camera) ? "not connected" : "off")}`,
    );
    return [`Talkback: ${parts.length > 0 ? parts.join("; ") : "no call"}`];
  }

  private join(call: TalkbackCall): void {
    if (this.calls.has(call.callId)) return;
    const camera = this.cameras.get(call.camera);
    if (camera === undefined || camera.talkback === undefined || camera.talkback === "off") return;
    const log = this.log.child({ call: call.callId, camera: camera.name, component: "talkback" });
    // The callee's audio first: a call that has none (yet) opens no output at the door.
    const into: { input?: MixerInput } = {};
    const listener = call.listenToCallee((samples, channels) => {
      into.input?.push(samples, channels);
    }, log);
    if (listener === undefined) return;
    let session = this.active.get(camera.name);
    if (session === undefined) {
      try {
        const name = camera.name;
        session = new CameraTalkback(camera, camera.talkback, log, (gain) => {
          this.duck(name, gain);
        });
      } catch (err: unknown) {
        listener.stop();
        log.warn({ err }, "talkback could not start; the call goes on one way");
        return;
      }
      this.active.set(camera.name, session);
    }
    const input = session.mixer.add();
    into.input = input;
    this.calls.set(call.callId, { camera: camera.name, input, listener });
    log.info({ callsOnCamera: session.mixer.size }, "talkback on: the callee's audio goes to the door");
  }

  private leave(callId: string): void {
    const c = this.calls.get(callId);
    if (c === undefined) return;
    this.calls.delete(callId);
    c.listener.stop();
    const session = this.active.get(c.camera);
    if (session === undefined) return;
    session.mixer.remove(c.input);
    // What the mixer threw away from this callee (a full queue, a standing queue): the first thing to read when talkback sounds choppy.
    this.log.debug(
      { call: callId, camera: c.camera, droppedSamples: c.input.dropped, trimmedSamples: c.input.trimmed },
      "talkback input removed",
    );
    if (session.mixer.size === 0) {
      session.close();
      this.active.delete(c.camera);
      this.log.info({ call: callId, camera: c.camera }, "talkback off");
    }
  }

  /** Ends every talkback (shutdown). */
  stop(): void {
    for (const id of [...this.calls.keys()]) this.leave(id);
  }
}
