/**
 * MatrixRTC calls as the bench makes them. `start` brings up the focus the bot's config names (rig.focusPort): a real
 * livekit-server (test/harness/livekit.ts) and the /sfu/get test token service (test/harness/sfu-token-service.ts),
 * as test/harness/rtc-rig.ts does, both owned by the rig (stopped by its reset or stop, after the calls are left and
 * the viewer's `!ring` choice is back to legacy). A call: `!call <camera>` from the viewer, whose `!ring` choice is
 * matrixrtc; the ring timed when the callee's client (the receiver process) has the rtc.notification; the callee
 * joins at once (bench/rtc-callee.ts) and the call is placed at its first decoded frame.
 */
import { loadRtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { CALL_MEMBER_TYPE, membershipStateKey } from "../../src/matrixrtc/rtc-wire.ts";
import { liveKitBinary, startLiveKit } from "../../test/harness/livekit.ts";
import { startSfuTokenService } from "../../test/harness/sfu-token-service.ts";
import { waitFor } from "../../test/harness/wait.ts";
import type { RtcJoined } from "../receiver-client.ts";
import { nowMs } from "../stamp.ts";
import type { Rig } from "./rig.ts";

export interface RtcCallHandle {
  roomId: string;
  camera: string;
  /** The callee's stream key at the receiver. */
  key: string;
  saidAt: number;
  ringAt: number;
  joined: RtcJoined;
  firstFrameAt: number;
  firstSize: string;
}

export class RtcCallDriver {
  private readonly active = new Set<string>();

  private constructor(
    private readonly rig: Rig,
    readonly focusUrl: string,
  ) {}

  /** Starts the focus (owned by the rig); `{ skip }` with the reason when livekit-server or rtc-node is missing. */
  static async start(rig: Rig): Promise<RtcCallDriver | { skip: string }> {
    const binary = liveKitBinary();
    if ("skip" in binary) return { skip: binary.skip.replace(/^LiveKit tests skipped: /, "") };
    const rtc = await loadRtcNode();
    if (!rtc.ok) return { skip: rtc.reason };
    const lk = await startLiveKit();
    rig.own("livekit-server", () => lk.stop());
    const group = { name: "livekit", pids: () => [lk.pid] };
    rig.extraGroups.add(group);
    rig.own("the livekit CPU group", () => {
      rig.extraGroups.delete(group);
    });
    const homeservers = { [rig.synapse.serverName]: rig.synapse.baseUrl };
    const service = await startSfuTokenService({ livekit: lk, homeservers, port: rig.focusPort });
    rig.own("the /sfu/get token service", () => service.stop());
    const driver = new RtcCallDriver(rig, service.url);
    const [room] = rig.rooms;
    rig.own("MatrixRTC calls and the !ring choice", async () => {
      await driver.leaveAll();
      if (room !== undefined && driver.ringsRtc) await driver.ringVia(room, "legacy");
    });
    return driver;
  }

  private ringsRtc = false;

  /** The viewer's `!ring` choice (it holds in every room), once the bot has confirmed it. */
  async ringVia(roomId: string, via: "matrixrtc" | "legacy"): Promise<void> {
    const { viewer, botUser } = this.rig;
    await viewer.say(roomId, `!ring ${via}`);
    const says = `!call rings you with ${via === "matrixrtc" ? "MatrixRTC" : "legacy"}`;
    await waitFor(
      `the bot to confirm !ring ${via}`,
      async () => (await viewer.lastMessageFrom(roomId, botUser.userId))?.startsWith(says) === true,
      {
        timeoutMs: 15_000,
        intervalMs: 100,
      },
    );
    this.ringsRtc = via === "matrixrtc";
  }

  /** `!call <camera>`; resolves at the callee's first decoded frame (it joins as soon as it has the ring). */
  async place(roomId: string, camera: string): Promise<RtcCallHandle> {
    const { receiver, viewer } = this.rig;
    const before = receiver.rtcRings.get(roomId)?.length ?? 0;
    const saidAt = nowMs();
    await viewer.say(roomId, `!call ${camera}`);
    const ring = await waitFor(`the MatrixRTC ring in ${roomId} (if none, see bot.log)`, () => receiver.rtcRings.get(roomId)?.[before], {
      timeoutMs: 20_000,
      intervalMs: 2,
    });
    this.active.add(roomId);
    const joined = await receiver.rtcJoin(roomId, this.focusUrl);
    const record = await waitFor(
      `the first MatrixRTC frame in ${roomId}`,
      () => {
        const r = receiver.streams.get(joined.key);
        return r?.firstFrameAt !== undefined
          ? { at: r.firstFrameAt, size: `${r.firstSize?.width ?? 0}x${r.firstSize?.height ?? 0}` }
          : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 2 },
    );
    return { roomId, camera, key: joined.key, saidAt, ringAt: ring.at, joined, firstFrameAt: record.at, firstSize: record.size };
  }

  /** The callee leaves; resolves once the bot has ended the call (its membership emptied). */
  async leave(roomId: string): Promise<void> {
    const { receiver, viewer, botUser, app } = this.rig;
    receiver.rtcLeave(roomId);
    this.active.delete(roomId);
    const key = membershipStateKey(botUser.userId, app.matrix.deviceId ?? "");
    await waitFor(
      `the bot's MatrixRTC membership in ${roomId} emptied`,
      async () => JSON.stringify(await viewer.state(roomId, CALL_MEMBER_TYPE, key)) === "{}",
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  }

  async leaveAll(): Promise<void> {
    for (const roomId of [...this.active]) await this.leave(roomId);
  }
}
