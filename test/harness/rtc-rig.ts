/**
 * What the MatrixRTC end-to-end files share: a real LiveKit SFU (livekit-server --dev), the /sfu/get token service,
 * and the shared rig (startRig) with one camera and alice's DM, the bot told where the focus is. The rig's DM is a
 * private_chat alice made, where the bot has power 0; Element Web and Element X make DMs with trusted_private_chat,
 * which gives the invitee (the bot) power 100: the DM is raised to that, so the bot may send its call.member.
 */
import { startLiveKit, type LiveKit } from "./livekit.ts";
import { startRig, type Rig } from "./rig.ts";
import { startSfuTokenService, type SfuTokenService } from "./sfu-token-service.ts";

export interface RtcRig {
  rig: Rig;
  lk: LiveKit;
  service: SfuTokenService;
  /** alice's DM with the bot. */
  dm: string;
  /** Stops the rig, the token service and LiveKit. */
  stop: () => Promise<void>;
}

/** `logLevel`: the bot's log in the rig's bot.log (default TEST_LOG_LEVEL, else silent); a test that reads it sets one. */
export async function startRtcRig(name: string, botName: string, logLevel = process.env["TEST_LOG_LEVEL"] ?? "silent"): Promise<RtcRig> {
  /** Filled in once the rig's Synapse is up: the token service reads it on every request. */
  const homeservers: Record<string, string> = {};
  const lk = await startLiveKit();
  const service = await startSfuTokenService({ livekit: lk, homeservers });
  const rig = await startRig({
    name,
    botName,
    cameras: { cam: { width: 640, height: 360, fps: 25, audio: "pcma", pattern: "ball" } },
    users: ["alice"],
    logLevel,
    config: ({ cameras, synapse }) => {
      homeservers[synapse.serverName] = synapse.baseUrl;
      return {
        cameras: [{ name: "cam", url: cameras["cam"]?.url, maxWidth: 640, maxHeight: 360 }],
        calls: { maxPerUserPerMinute: 100 },
        matrixRtc: { livekitServiceUrl: service.url },
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
