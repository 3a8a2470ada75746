/**
 * Calls as the bench makes them: `!call <camera>` from the viewer in a direct chat; the receiver (a separate process)
 * answers at once. A call is timed from both sides: the receiver's ring, answer and first decoded frame; the bot's
 * session states (invite sent = ringing, connecting, ICE connected) through its public `state` events.
 */
import type { App } from "../../src/app.ts";
import type { ActiveCall } from "../../src/call/manager.ts";
import { CallState } from "../../src/call/state.ts";
import { waitFor } from "../../test/harness/wait.ts";
import type { Viewer } from "../matrix.ts";
import type { ReceiverClient, StreamRecord } from "../receiver-client.ts";
import { nowMs } from "../stamp.ts";

/** The bot side's timings of one call, filled in as they happen (some land after the first frame). */
export interface BotTimes {
  /** The bot's Matrix client emitted the `!call` (its /sync brought it): what came before is the homeserver's. */
  commandSeenAt: number | undefined;
  inviteSentAt: number | undefined;
  connectingAt: number | undefined;
  connectedAt: number | undefined;
  cameraFirstFrameAt: number | undefined;
}

export interface CallHandle {
  roomId: string;
  camera: string;
  key: string;
  record: StreamRecord;
  saidAt: number;
  bot: BotTimes;
}

export class CallDriver {
  private readonly active = new Map<string, CallHandle>();

  constructor(
    private readonly app: App,
    private readonly receiver: ReceiverClient,
    private readonly viewer: Viewer,
  ) {}

  /** `!call <camera>` in a room; resolves at the first decoded frame at the receiver (which answers at once). */
  place(roomId: string, camera: string): Promise<CallHandle> {
    return this.press([roomId], camera, () => this.viewer.say(roomId, `!call ${camera}`));
  }

  /**
   * A call of `camera` that `start` sets off (`!call`, a doorbell's webhook POST or MQTT publish): the bot rings the
   * viewer in one of `rooms` (a press: the direct chat it picks); resolves at the first decoded frame, timed from
   * `start`.
   */
  async press(rooms: readonly string[], camera: string, start: () => Promise<void>): Promise<CallHandle> {
    const { app, receiver } = this;
    const before = new Map(rooms.map((r) => [r, receiver.callInRoom(r)?.key]));
    const bot: BotTimes = {
      commandSeenAt: undefined,
      inviteSentAt: undefined,
      connectingAt: undefined,
      connectedAt: undefined,
      cameraFirstFrameAt: undefined,
    };
    const pipeline = app.hub.pipeline(camera);
    const onFirst = (): void => {
      bot.cameraFirstFrameAt = nowMs();
    };
    if (pipeline?.getState() === "stopped") pipeline.once("firstFrame", onFirst);
    // Before the bot's own listener, so that the time is not late by the synchronous part of its handling.
    const client = app.matrix.client;
    const onMessage = (room: string, event: { sender?: unknown }): void => {
      if (rooms.includes(room) && event.sender !== app.matrix.userId) bot.commandSeenAt ??= nowMs();
    };
    client.prependListener("room.message", onMessage);
    const saidAt = nowMs();
    try {
      await start();
      // The bot's session exists before its invite is sent: polled at 2 ms, so "invite sent" is late by at most that.
      const [roomId, session] = await waitFor(
        `the bot's call in ${rooms.length === 1 ? rooms[0] : "one of the direct chats"}`,
        () => {
          for (const r of rooms) {
            const s = app.calls.callInRoom(r);
            if (s !== undefined) return [r, s] as const;
          }
          return undefined;
        },
        { timeoutMs: 15_000, intervalMs: 2 },
      );
      watch(session, bot);
      const record = await waitFor(
        `a decoded frame of the call in ${roomId}`,
        () => {
          const r = receiver.callInRoom(roomId);
          if (!r || r.key === before.get(roomId)) return undefined;
          if (r.ended) return "ended" as const;
          return r.firstFrameAt !== undefined ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 5 },
      );
      if (record === "ended") throw new Error(`the call in ${roomId} ended before its first frame`);
      const handle: CallHandle = { roomId, camera, key: record.key, record, saidAt, bot };
      this.active.set(roomId, handle);
      return handle;
    } finally {
      pipeline?.off("firstFrame", onFirst);
      client.off("room.message", onMessage);
    }
  }

  /** Waits until the bot's side of the call has seen ICE connect (it may land after the first frame). */
  async connected(h: CallHandle): Promise<void> {
    await waitFor(`the bot's call in ${h.roomId} to connect`, () => h.bot.connectedAt !== undefined, { timeoutMs: 10_000, intervalMs: 5 });
  }

  /** The callee hangs up, as a user would; resolves when both sides have ended the call. */
  async hangup(roomId: string): Promise<void> {
    const { app, receiver } = this;
    this.active.delete(roomId);
    receiver.hangup(roomId);
    await waitFor(
      `the call in ${roomId} to end`,
      () => app.calls.callInRoom(roomId) === undefined && receiver.callInRoom(roomId)?.ended === true,
      { timeoutMs: 15_000 },
    );
  }

  async hangupAll(): Promise<void> {
    await Promise.all([...this.active.keys()].map((roomId) => this.hangup(roomId)));
    // Anything the bench lost track of (a phase that failed half-way).
    await this.app.calls.hangupAll("user_hangup");
  }

  /** Waits until the bot has stopped the camera's pipeline (idleStopMs 0: once its last call ended). */
  async pipelineStopped(camera: string): Promise<void> {
    const bot = this.app;
    await waitFor(`camera ${camera}'s pipeline to stop`, () => bot.hub.pipeline(camera)?.getState() === "stopped", { timeoutMs: 15_000 });
  }
}

function watch(session: ActiveCall, bot: BotTimes): void {
  const mark = (state: CallState): void => {
    if (state === CallState.Ringing) bot.inviteSentAt ??= nowMs();
    if (state === CallState.Connecting) bot.connectingAt ??= nowMs();
    if (state === CallState.Connected) bot.connectedAt ??= nowMs();
  };
  mark(session.state);
  session.on("state", mark);
  session.once("ended", () => {
    session.off("state", mark);
  });
}
