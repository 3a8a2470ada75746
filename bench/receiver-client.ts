/** The parent's handle on bench/receiver.ts: forks it under tsx, relays commands, keeps every sample it reports. */
import { fork, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { waitFor } from "../test/harness/wait.ts";
import { withoutLauncherEnv } from "./launcher-env.ts";
import type { FromReceiver, InboundVideoStats, LoginParams, ToReceiver } from "./protocol.ts";

const SCRIPT = fileURLToPath(new URL("./receiver.ts", import.meta.url));

export type RtcJoined = Omit<Extract<FromReceiver, { t: "rtc-joined" }>, "t" | "reqId">;

export interface StreamRecord {
  key: string;
  roomId: string | undefined;
  callId: string | undefined;
  ringAt: number | undefined;
  answerStart: number | undefined;
  answerDone: number | undefined;
  firstFrameAt: number | undefined;
  firstSize: { width: number; height: number } | undefined;
  at: number[];
  latency: number[];
  seq: number[];
  width: number;
  height: number;
  ended: boolean;
  endReason: string | undefined;
}

export class ReceiverClient {
  readonly streams = new Map<string, StreamRecord>();
  /** The key of the latest call that rang in each room. */
  private readonly roomKey = new Map<string, string>();
  private readonly plainAnswers = new Map<string, { sdp: string; answeredAt: number }>();
  readonly errors: string[] = [];
  private readonly statsReplies = new Map<number, Record<string, InboundVideoStats>>();
  private readonly talkReplies = new Map<number, number>();
  /** MatrixRTC rings (rtc.notification) the callee's client received, by room, in order. */
  readonly rtcRings = new Map<string, { eventId: string; at: number }[]>();
  private readonly joinReplies = new Map<number, RtcJoined | { failed: string }>();
  private toneHz: number | undefined;
  private nextReq = 0;
  private loggedIn = false;
  private stopped = false;
  private exited = false;
  private readonly exitPromise: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {
    this.exitPromise = new Promise((resolve) => {
      child.once("exit", () => {
        this.exited = true;
        resolve();
      });
    });
    child.on("message", (raw: unknown) => {
      this.onMessage(raw as FromReceiver);
    });
  }

  /** Forks the receiver; its own logs (pino, matrix-js-sdk) go to `logFile`. */
  static async start(logFile: string): Promise<ReceiverClient> {
    const fd = openSync(logFile, "a");
    let child: ChildProcess;
    try {
      child = fork(SCRIPT, [], {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", fd, fd, "ipc"],
        env: { ...withoutLauncherEnv(process.env), TEST_LOG_LEVEL: process.env["TEST_LOG_LEVEL"] ?? "warn" },
      });
    } finally {
      closeSync(fd);
    }
    process.on("exit", () => {
      child.kill("SIGKILL");
    });
    const pid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`receiver not ready after 30 s (log ${logFile})`));
      }, 30_000);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`receiver exited with code ${String(code)} before it was ready (log ${logFile})`));
      });
      const onReady = (raw: unknown): void => {
        const msg = raw as FromReceiver;
        if (msg.t !== "ready") return;
        clearTimeout(timer);
        child.off("message", onReady);
        resolve(msg.pid);
      };
      child.on("message", onReady);
    });
    return new ReceiverClient(child, pid);
  }

  private send(msg: ToReceiver): void {
    if (this.child.connected) this.child.send(msg);
  }

  private record(key: string): StreamRecord {
    let r = this.streams.get(key);
    if (!r) {
      r = {
        key,
        roomId: undefined,
        callId: undefined,
        ringAt: undefined,
        answerStart: undefined,
        answerDone: undefined,
        firstFrameAt: undefined,
        firstSize: undefined,
        at: [],
        latency: [],
        seq: [],
        width: 0,
        height: 0,
        ended: false,
        endReason: undefined,
      };
      this.streams.set(key, r);
    }
    return r;
  }

  private onMessage(msg: FromReceiver): void {
    switch (msg.t) {
      case "logged-in":
        this.loggedIn = true;
        return;
      case "ring": {
        const r = this.record(msg.key);
        r.roomId = msg.roomId;
        r.callId = msg.callId;
        r.ringAt = msg.at;
        this.roomKey.set(msg.roomId, msg.key);
        return;
      }
      case "answered": {
        const r = this.record(msg.key);
        r.answerStart = msg.answerStart;
        r.answerDone = msg.answerDone;
        return;
      }
      case "first-frame": {
        const r = this.record(msg.key);
        r.firstFrameAt = msg.at;
        r.firstSize = { width: msg.width, height: msg.height };
        r.answerStart ??= msg.answerStart;
        return;
      }
      case "samples":
        for (const b of msg.batches) {
          const r = this.record(b.key);
          // Bounded: at most one batch's worth of pushes per message.
          for (let i = 0; i < b.at.length; i++) {
            r.at.push(b.at[i] ?? Number.NaN);
            r.latency.push(b.latency[i] ?? Number.NaN);
            r.seq.push(b.seq[i] ?? -1);
          }
          r.width = b.width;
          r.height = b.height;
        }
        return;
      case "ended": {
        const r = this.record(msg.key);
        r.ended = true;
        r.endReason = msg.reason;
        return;
      }
      case "plain-answer":
        this.plainAnswers.set(msg.id, { sdp: msg.sdp, answeredAt: msg.answeredAt });
        return;
      case "error":
        this.errors.push(msg.message);
        return;
      case "stats":
        this.statsReplies.set(msg.reqId, msg.stats);
        return;
      case "tone-set":
        this.toneHz = msg.hz;
        return;
      case "talked":
        this.talkReplies.set(msg.reqId, msg.at);
        return;
      case "rtc-ring": {
        const list = this.rtcRings.get(msg.roomId) ?? [];
        list.push({ eventId: msg.eventId, at: msg.at });
        this.rtcRings.set(msg.roomId, list);
        return;
      }
      case "rtc-joined": {
        const joined: RtcJoined = { key: msg.key, joinStart: msg.joinStart, connectedAt: msg.connectedAt, memberSentAt: msg.memberSentAt };
        this.record(joined.key).answerStart = joined.joinStart;
        this.joinReplies.set(msg.reqId, joined);
        return;
      }
      case "rtc-join-failed":
        this.joinReplies.set(msg.reqId, { failed: msg.message });
        return;
      case "ready":
      case "stopped":
        return;
    }
  }

  async login(login: LoginParams): Promise<void> {
    this.send({ t: "login", login });
    await waitFor("the receiver to log in and sync", () => this.loggedIn || (this.errors.length > 0 ? "error" : false), {
      timeoutMs: 60_000,
    }).then((r) => {
      if (r === "error") throw new Error(`receiver: ${this.errors.join("; ")}`);
    });
  }

  /** The latest call that rang in a room. */
  callInRoom(roomId: string): StreamRecord | undefined {
    const key = this.roomKey.get(roomId);
    return key === undefined ? undefined : this.streams.get(key);
  }

  hangup(roomId: string): void {
    this.send({ t: "hangup", roomId });
  }

  async plainOffer(id: string, sdp: string, timeoutMs = 15_000): Promise<{ sdp: string; answeredAt: number }> {
    this.send({ t: "plain-offer", id, sdp });
    return waitFor(`the receiver's answer for ${id}`, () => this.plainAnswers.get(id), { timeoutMs, intervalMs: 10 });
  }

  /** Inbound video stats of every live stream, by key ({} when the receiver does not answer within 5 s). */
  async stats(): Promise<Record<string, InboundVideoStats>> {
    const reqId = this.nextReq++;
    this.send({ t: "stats", reqId });
    const reply = await waitFor("the receiver's stats", () => this.statsReplies.get(reqId), { timeoutMs: 5_000, intervalMs: 5 }).catch(
      () => ({}),
    );
    this.statsReplies.delete(reqId);
    return reply;
  }

  /** The callee's microphone plays `hz` from the next call on (silent until talk(true)). */
  async useTone(hz: number): Promise<void> {
    this.send({ t: "tone", hz });
    await waitFor("the receiver's tone microphone", () => this.toneHz === hz, { timeoutMs: 5_000, intervalMs: 5 });
  }

  /** Starts or stops talking; resolves with the receiver's Date.now() when it switched (the onset, for talk(true)). */
  async talk(on: boolean): Promise<number> {
    const reqId = this.nextReq++;
    this.send({ t: "talk", on, reqId });
    const at = await waitFor("the receiver to switch talking", () => this.talkReplies.get(reqId), { timeoutMs: 5_000, intervalMs: 2 });
    this.talkReplies.delete(reqId);
    return at;
  }

  /** The callee joins the MatrixRTC call in `roomId` (LiveKit, then its call.member); its frames come under the key. */
  async rtcJoin(roomId: string, serviceUrl: string): Promise<RtcJoined> {
    const reqId = this.nextReq++;
    this.send({ t: "rtc-join", roomId, serviceUrl, reqId });
    const reply = await waitFor(`the callee to join the MatrixRTC call in ${roomId}`, () => this.joinReplies.get(reqId), {
      timeoutMs: 20_000,
      intervalMs: 2,
    });
    this.joinReplies.delete(reqId);
    if ("failed" in reply) throw new Error(`joining the MatrixRTC call: ${reply.failed}`);
    this.record(reply.key).roomId = roomId;
    return reply;
  }

  rtcLeave(roomId: string): void {
    this.send({ t: "rtc-leave", roomId });
  }

  plainClose(id: string): void {
    this.send({ t: "plain-close", id });
  }

  /** Stops the receiver (hangs up its calls, closes its peer connections); SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopped) return this.exitPromise;
    this.stopped = true;
    if (this.exited) return;
    this.send({ t: "stop" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}
