/**
 * What the MatrixRTC end-to-end files share: a real LiveKit SFU (livekit-server --dev), the /sfu/get token service,
 * and the shared rig (startRig) with one camera and alice's DM, the bot told where the focus is. The rig's DM is a
 * private_chat alice made, where the bot has power 0; Element Web and Element X make DMs with trusted_private_chat,
 * which gives the invitee (the bot) power 100: the DM is raised to that, so the bot may send its call.member.
 */
import { startLiveKit, type LiveKit } from "./livekit.ts";
import { startProcessRig, startRig, type ProcessRig, type Rig, type RigContext, type RigOptions, type RigParts } from "./rig.ts";
import { startSfuTokenService, type SfuTokenService } from "./sfu-token-service.ts";

export interface RtcRig<R extends RigParts = Rig> {
  rig: R;
  lk: LiveKit;
  service: SfuTokenService;
  /** alice's DM with the bot. */
  dm: string;
  /** Stops the rig, the token service and LiveKit. */
  stop: () => Promise<void>;
}

export interface RtcRigOptions {
  /** The users (default ["alice"]); alice must have a direct chat with the bot. */
  users?: RigOptions["users"];
  /** The bot's log level in the rig's bot.log (a test that reads it sets one; else TEST_LOG_LEVEL, else silent). */
  logLevel?: string;
  /** Over the rig's config: its top-level keys replace the rig's, its matrixRtc keys are added to the focus. */
  config?: (ctx: RigContext) => Record<string, unknown>;
  /** A second camera "cam2" (a smaller picture: 320x240), and `calls.defaultCamera: cam`: `!switch` tests. */
  secondCamera?: boolean;
}

export async function startRtcRig(name: string, botName: string, opts: RtcRigOptions = {}): Promise<RtcRig> {
  return startRtcRigWith(startRig, name, botName, opts);
}

/** The same with the bot as its own process (its memory and descriptors its own), with a full GC on request. */
export async function startRtcProcessRig(
  name: string,
  botName: string,
  opts: RtcRigOptions & { env?: Record<string, string> } = {},
): Promise<RtcRig<ProcessRig>> {
  // The process's log level is its config's, where "silent" is not a level: info unless asked.
  return startRtcRigWith((rigOpts) => startProcessRig({ ...rigOpts, gc: true, ...(opts.env ? { env: opts.env } : {}) }), name, botName, {
    ...opts,
    logLevel: opts.logLevel ?? "info",
  });
}

async function startRtcRigWith<R extends RigParts>(
  start: (opts: RigOptions) => Promise<R>,
  name: string,
  botName: string,
  opts: RtcRigOptions,
): Promise<RtcRig<R>> {
  /** Filled in once the rig's Synapse is up: the token service reads it on every request. */
  const homeservers: Record<string, string> = {};
  const lk = await startLiveKit();
  const service = await startSfuTokenService({ livekit: lk, homeservers });
  const rig = await start({
    name,
    botName,
    cameras: {
      cam: { width: 640, height: 360, fps: 25, audio: "pcma", pattern: "ball" },
      ...(opts.secondCamera === true ? { cam2: { width: 320, height: 240, fps: 25, audio: "pcma" as const, pattern: "smpte" } } : {}),
    },
    users: opts.users ?? ["alice"],
    logLevel: opts.logLevel ?? process.env["TEST_LOG_LEVEL"] ?? "silent",
    config: (ctx) => {
      homeservers[ctx.synapse.serverName] = ctx.synapse.baseUrl;
      const extra = opts.config?.(ctx) ?? {};
      return {
        cameras: [
          { name: "cam", url: ctx.cameras["cam"]?.url, maxWidth: 640, maxHeight: 360 },
          ...(opts.secondCamera === true ? [{ name: "cam2", url: ctx.cameras["cam2"]?.url, maxWidth: 320, maxHeight: 240 }] : []),
        ],
        calls: { maxPerUserPerMinute: 100, ...(opts.secondCamera === true ? { defaultCamera: "cam" } : {}) },
        ...extra,
        matrixRtc: { livekitServiceUrl: service.url, ...(extra["matrixRtc"] as object | undefined) },
      };
    },
  });
  const dm = rig.dm("alice");
  const client = rig.callee("alice").client;
  const levels = await client.getStateEvent(dm, "m.room.power_levels", "");
  await client.sendStateEvent(
    dm,
    "m.room.power_levels" as never,
    { ...levels, users: { ...(levels["users"] as object), [rig.bot.userId]: 100 } } as never,
    "",
  );
  return {
    rig,
    lk,
    service,
    dm,
    stop: async () => {
      await rig.stop();
      await service.stop();
      await lk.stop();
    },
  };
}
