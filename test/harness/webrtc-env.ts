/**
 * Browser environment for matrix-js-sdk's MatrixCall in Node, backed by @roamhq/wrtc.
 *
 * See /work/shared/notes/node-callee.md: these globals must exist BEFORE matrix-js-sdk is imported, so every harness
 * imports the SDK only through loadMatrixSdk() (and only type imports statically).
 *
 * Installing them defines `window`, `document`, `navigator.mediaDevices`, `AudioContext` and the WebRTC classes on
 * globalThis for the whole test process.
 */
import { createRequire } from "node:module";
import type * as MatrixSdk from "matrix-js-sdk";
import { harnessLog } from "./log.ts";
import { followSdkLocalDescriptions } from "./sdk-local-description.ts";
import { toneOf, toneTrack } from "./tone-mic.ts";
import { waitFor } from "./wait.ts";

/** The subset of wrtc's MediaStreamTrack the harnesses use. */
export interface WrtcTrack {
  readonly id: string;
  readonly kind: string;
  readonly readyState: string;
  enabled: boolean;
  stop(): void;
  getSettings(): Record<string, unknown>;
}

export interface WrtcStream {
  readonly id: string;
  getTracks(): WrtcTrack[];
  getAudioTracks(): WrtcTrack[];
  getVideoTracks(): WrtcTrack[];
}

export interface I420Frame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface WrtcVideoSink {
  readonly stopped: boolean;
  stop(): void;
  onframe: ((ev: { frame: I420Frame }) => void) | null;
}

export interface WrtcAudioData {
  samples: Int16Array;
  sampleRate: number;
  bitsPerSample?: number;
  channelCount?: number;
  numberOfFrames?: number;
}

export interface WrtcAudioSink {
  readonly stopped: boolean;
  stop(): void;
  ondata: ((data: WrtcAudioData) => void) | null;
}

interface WrtcVideoSource {
  createTrack(): WrtcTrack;
  onFrame(frame: I420Frame): void;
}

interface MediaStreamConstraintsLike {
  audio?: unknown;
  video?: unknown;
}

export interface WrtcModule {
  MediaStream: new (tracks?: WrtcTrack[]) => WrtcStream;
  getUserMedia(constraints: MediaStreamConstraintsLike): Promise<WrtcStream>;
  mediaDevices: object;
  nonstandard: {
    RTCVideoSink: new (track: WrtcTrack) => WrtcVideoSink;
    RTCAudioSink: new (track: WrtcTrack) => WrtcAudioSink;
    RTCVideoSource: new (init?: { isScreencast?: boolean }) => WrtcVideoSource;
  };
}

const require = createRequire(import.meta.url);
export const wrtc = require("@roamhq/wrtc") as WrtcModule;

/**
 * Device ID of a synthetic camera: when a MediaHandler asks getUserMedia for it (via
 * `client.getMediaHandler().restoreMediaSettings(undefined, SYNTHETIC_VIDEO_DEVICE_ID)`), the video track is fed
 * 640×360 I420 frames at 15 fps by an RTCVideoSource. wrtc's own fake video device delivers no frames at all.
 */
export const SYNTHETIC_VIDEO_DEVICE_ID = "mcc-synthetic-camera";
const SYNTHETIC_WIDTH = 640;
const SYNTHETIC_HEIGHT = 360;
const SYNTHETIC_FPS = 15;

/** Frame pumps of synthetic video tracks that are still live. */
const pumps = new Set<{ track: WrtcTrack; timer: NodeJS.Timeout }>();

function syntheticVideoTrack(): WrtcTrack {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  const ySize = SYNTHETIC_WIDTH * SYNTHETIC_HEIGHT;
  const data = new Uint8Array((ySize * 3) / 2);
  data.fill(128, ySize); // grey chroma
  let n = 0;
  const pump = {
    track,
    timer: setInterval(() => {
      if (track.readyState === "ended") {
        clearInterval(pump.timer);
        pumps.delete(pump);
        return;
      }
      // A moving luma gradient so every frame differs.
      for (let y = 0; y < SYNTHETIC_HEIGHT; y += 1) {
        data.fill((y + n * 4) & 0xff, y * SYNTHETIC_WIDTH, (y + 1) * SYNTHETIC_WIDTH);
      }
      n += 1;
      source.onFrame({ width: SYNTHETIC_WIDTH, height: SYNTHETIC_HEIGHT, data });
    }, 1000 / SYNTHETIC_FPS),
  };
  pump.timer.unref();
  pumps.add(pump);
  return track;
}

/** Stops every synthetic frame pump (their tracks end when the SDK stops them; this is the safety net). */
export function stopSyntheticVideo(): void {
  for (const pump of pumps) {
    clearInterval(pump.timer);
    pump.track.stop();
  }
  pumps.clear();
}

function wantsSyntheticVideo(video: unknown): boolean {
  if (typeof video !== "object" || video === null) return false;
  const deviceId = (video as { deviceId?: unknown }).deviceId;
  if (deviceId === SYNTHETIC_VIDEO_DEVICE_ID) return true;
  if (typeof deviceId !== "object" || deviceId === null) return false;
  const d = deviceId as { ideal?: unknown; exact?: unknown };
  return d.ideal === SYNTHETIC_VIDEO_DEVICE_ID || d.exact === SYNTHETIC_VIDEO_DEVICE_ID;
}

async function getUserMedia(constraints: MediaStreamConstraintsLike): Promise<WrtcStream> {
  const audio = constraints.audio !== undefined && constraints.audio !== false;
  const video = constraints.video !== undefined && constraints.video !== false;
  const tone = audio ? toneOf(constraints.audio) : undefined;
  if (tone === undefined && (!video || !wantsSyntheticVideo(constraints.video))) return wrtc.getUserMedia(constraints);
  const tracks: WrtcTrack[] = [];
  if (tone !== undefined) tracks.push(toneTrack(tone) as WrtcTrack);
  else if (audio) tracks.push(...(await wrtc.getUserMedia({ audio: constraints.audio })).getAudioTracks());
  if (video && wantsSyntheticVideo(constraints.video)) tracks.push(syntheticVideoTrack());
  else if (video) tracks.push(...(await wrtc.getUserMedia({ video: constraints.video })).getVideoTracks());
  return new wrtc.MediaStream(tracks);
}

const FAKE_DEVICES = [
  { deviceId: "FakeAudioDevice", groupId: "FakeDeviceGroup", kind: "audioinput", label: "wrtc fake microphone" },
  { deviceId: "FakeVideoDevice", groupId: "FakeDeviceGroup", kind: "videoinput", label: "wrtc fake camera" },
];

const noop = (): void => undefined;

/** Web Audio stand-in: js-sdk's CallFeed measures speaking levels through an analyser. */
class FakeAudioContext {
  state = "running";
  createAnalyser(): object {
    return {
      fftSize: 2048,
      smoothingTimeConstant: 0.8,
      frequencyBinCount: 1024,
      getFloatFrequencyData: noop,
      getByteFrequencyData: noop,
      connect: noop,
      disconnect: noop,
    };
  }
  createMediaStreamSource(): object {
    return { connect: noop, disconnect: noop };
  }
  close(): Promise<void> {
    this.state = "closed";
    return Promise.resolve();
  }
  resume(): Promise<void> {
    return Promise.resolve();
  }
}

function fakeElement(): object {
  return {
    style: {},
    setAttribute: noop,
    removeAttribute: noop,
    addEventListener: noop,
    removeEventListener: noop,
    appendChild: noop,
    remove: noop,
    pause: noop,
    load: noop,
    play: () => Promise.resolve(),
  };
}

function define(name: string, value: unknown): void {
  Object.defineProperty(globalThis, name, { value, configurable: true, writable: true, enumerable: false });
}

let installed = false;

/** Installs the browser globals matrix-js-sdk's VoIP code needs. Idempotent. */
export function installWebrtcGlobals(): void {
  if (installed) return;
  installed = true;
  const g = globalThis as Record<string, unknown>;
  if (g["window"] === undefined) define("window", globalThis);
  // Every class wrtc exports (RTCPeerConnection, RTCRtpReceiver, MediaStream, …) as a global of the same name.
  for (const [name, value] of Object.entries(wrtc)) {
    if (typeof value === "function" && /^[A-Z]/.test(name)) define(name, value);
  }
  const mediaDevices = {
    getUserMedia,
    getDisplayMedia: () => Promise.reject(new Error("getDisplayMedia is not available in the test harness")),
    enumerateDevices: () => Promise.resolve(FAKE_DEVICES.map((d) => ({ ...d, toJSON: () => d }))),
    getSupportedConstraints: () => ({ width: true, height: true, deviceId: true }),
    addEventListener: noop,
    removeEventListener: noop,
  };
  const nav = g["navigator"];
  if (typeof nav === "object" && nav !== null) {
    Object.defineProperty(nav, "mediaDevices", { value: mediaDevices, configurable: true });
  } else {
    define("navigator", { userAgent: `Node.js ${process.version}`, mediaDevices });
  }
  if (g["document"] === undefined) {
    define("document", {
      createElement: fakeElement,
      addEventListener: noop,
      removeEventListener: noop,
      body: fakeElement(),
      visibilityState: "visible",
      hidden: false,
    });
  }
  if (g["AudioContext"] === undefined) define("AudioContext", FakeAudioContext);
}

type SdkModule = typeof MatrixSdk;
let sdkPromise: Promise<SdkModule> | undefined;

/**
 * Routes matrix-js-sdk's loglevel output (DEBUG, to the console, by default) into harnessLog, at the level in
 * TEST_SDK_LOG_LEVEL (default silent: the SDK logs expected errors, e.g. /sync failing while Synapse restarts).
 */
async function routeSdkLogs(): Promise<void> {
  interface LoglevelLogger {
    methodFactory: (method: string, level: number, name: string | symbol) => (...args: unknown[]) => void;
    rebuild(): void;
  }
  interface Loglevel extends LoglevelLogger {
    getLoggers(): Record<string, LoglevelLogger>;
  }
  let loglevel: Loglevel;
  try {
    const mod = (await import("loglevel")) as unknown as { default?: Loglevel };
    if (mod.default === undefined) return;
    loglevel = mod.default;
  } catch (err: unknown) {
    harnessLog.warn({ err }, "could not load loglevel; matrix-js-sdk will log to the console");
    return;
  }
  const sdkLog = harnessLog.child({}, { level: process.env["TEST_SDK_LOG_LEVEL"] ?? "silent" });
  const factory: LoglevelLogger["methodFactory"] = (method, _level, name) => {
    const level = method === "error" || method === "warn" || method === "info" || method === "trace" ? method : "debug";
    const logger = String(name);
    return (...args: unknown[]): void => {
      if (!sdkLog.isLevelEnabled(level)) return;
      const msg = args.map((a) => (typeof a === "string" ? a : a instanceof Error ? (a.stack ?? a.message) : safeJson(a))).join(" ");
      sdkLog[level]({ sdk: logger }, msg);
    };
  };
  loglevel.methodFactory = factory;
  loglevel.rebuild();
  for (const child of Object.values(loglevel.getLoggers())) {
    child.methodFactory = factory;
    child.rebuild();
  }
}

function safeJson(value: unknown): string {
  try {
    const json = JSON.stringify(value) as string | undefined; // undefined for functions and undefined
    return json ?? String(value);
  } catch {
    return String(value);
  }
}

/** Installs the globals, then imports matrix-js-sdk (once per process). */
export function loadMatrixSdk(): Promise<SdkModule> {
  sdkPromise ??= (async () => {
    installWebrtcGlobals();
    const sdk = await import("matrix-js-sdk");
    await routeSdkLogs();
    return sdk;
  })();
  return sdkPromise;
}

export interface SdkClientOptions {
  baseUrl: string;
  userId: string;
  accessToken: string;
  deviceId: string;
  /** Relay-only ICE (matrix-js-sdk's forceTURN: its peer connections get iceTransportPolicy "relay"). */
  forceTURN?: boolean;
}

/**
 * Creates a matrix-js-sdk client (in-memory store, no crypto) and resolves once it is syncing, so that the call
 * event handler is running: js-sdk does not ring invites that arrive in the first sync.
 */
export async function startSyncingClient(
  opts: SdkClientOptions,
  beforeStart?: (client: MatrixSdk.MatrixClient) => void,
  syncTimeoutMs = 30_000,
): Promise<MatrixSdk.MatrixClient> {
  const sdk = await loadMatrixSdk();
  const client = sdk.createClient({
    baseUrl: opts.baseUrl,
    userId: opts.userId,
    accessToken: opts.accessToken,
    deviceId: opts.deviceId,
    store: new sdk.MemoryStore(),
    timelineSupport: true,
    ...(opts.forceTURN === true ? { forceTURN: true } : {}),
  });
  beforeStart?.(client);
  await client.startClient({ initialSyncLimit: 20 });
  try {
    await waitFor(
      `${opts.userId} to finish its first sync`,
      () => {
        const state = client.getSyncState();
        return (state === sdk.SyncState.Prepared || state === sdk.SyncState.Syncing) && client.isInitialSyncComplete();
      },
      { timeoutMs: syncTimeoutMs },
    );
  } catch (err: unknown) {
    client.stopClient();
    throw err;
  }
  return client;
}

/** matrix-js-sdk's VoIP module and call event handler (after the globals are installed). */
export async function loadSdkVoip(): Promise<
  typeof import("matrix-js-sdk/lib/webrtc/call.js") & typeof import("matrix-js-sdk/lib/webrtc/callEventHandler.js")
> {
  await loadMatrixSdk();
  const [call, handler] = await Promise.all([
    import("matrix-js-sdk/lib/webrtc/call.js"),
    import("matrix-js-sdk/lib/webrtc/callEventHandler.js"),
  ]);
  followSdkLocalDescriptions(call.MatrixCall);
  return { ...call, ...handler };
}

/** Resolves once a call's peer connection is closed (js-sdk closes it a little after the state becomes "ended"). */
export async function peerConnectionClosed(call: MatrixSdk.MatrixCall, timeoutMs = 5_000): Promise<void> {
  await waitFor(
    `call ${call.callId}'s peer connection to close`,
    () => {
      const pc = call.peerConn as unknown as { signalingState?: string } | undefined;
      return pc === undefined || pc.signalingState === "closed";
    },
    { timeoutMs, intervalMs: 20 },
  );
}

/**
 * Waits (bounded) until none of the client's events is still being sent, so that stopClient() does not cut
 * a request off (js-sdk then rejects it with no one listening, e.g. a hangup sent just before the stop).
 */
export async function waitForPendingSends(client: MatrixSdk.MatrixClient, timeoutMs = 5_000): Promise<void> {
  const settled = new Set<string | null>([null, "not_sent", "cancelled"]);
  const pending = (): boolean =>
    client.getRooms().some((room) =>
      room
        .getLiveTimeline()
        .getEvents()
        .some((e) => !settled.has(e.status)),
    );
  await waitFor("the client's events to be sent", () => !pending(), { timeoutMs }).catch((err: unknown) => {
    harnessLog.warn({ err }, "events still being sent at stop");
  });
}
