/**
 * Being called with MatrixRTC (issue 13): a user starts an Element Call in their DM with the bot, and the bot joins
 * it with `calls.defaultCamera`. The room event that starts it is the caller's call.member (incoming-membership.ts:
 * fresh, unexpired, someone else's); then, as for every call, who may call (the allowlist: a stranger is ignored
 * without a word, logged once a minute per room, as a stranger's m.call.invite is) and admission (kind
 * "rtc-inbound": a DM, the other member, camera rights, a free room, capacity, the user's rate). A refusal, and a
 * join that fails (an encrypted DM, no rtc-node, no focus), is one sentence in the room, the words of the other paths.
 *
 * Only rooms without a MatrixRTC call come here: in a room with one, the call takes the events (a callee joining
 * the bot's ringing call is its answer, not a new call).
 */
import type { CallAdmission } from "../admission/admission.ts";
import type { AccessList } from "../admission/access.ts";
import { LogOnce } from "../doorbell/log-once.ts";
import { incomingCall, type IncomingCall } from "../matrixrtc/incoming-membership.ts";
import type { RtcCalls } from "../matrixrtc/rtc-calls.ts";
import { errorMessage, redactUrl, type Logger } from "../util/logger.ts";

export interface RtcIncomingDeps {
  notice(roomId: string, text: string): Promise<unknown>;
  botUserId: string;
  access: AccessList;
  rtc: Pick<RtcCalls, "join">;
  admission: Pick<CallAdmission, "decide">;
  /** The camera a call to the bot shows (`calls.defaultCamera`, else the first). */
  defaultCamera(): string | undefined;
  log: Logger;
}

export class RtcIncoming {
  /** Rooms whose call is being admitted or joined: a second membership meanwhile (another device) starts nothing. */
  private readonly answering = new Set<string>();
  private readonly logOnce: LogOnce;

  constructor(private readonly deps: RtcIncomingDeps) {
    this.logOnce = new LogOnce(deps.log);
  }

  /** A room event of a room where the bot has no MatrixRTC call. */
  roomEvent(roomId: string, raw: unknown): void {
    const verdict = incomingCall(raw, this.deps.botUserId, Date.now());
    if ("ignore" in verdict) {
      if (!verdict.ignore.startsWith("not ")) this.deps.log.debug({ room: roomId, why: verdict.ignore }, "call membership not joined");
      return;
    }
    const { call } = verdict;
    if (!this.deps.access.allows(call.caller)) {
      this.logOnce.warn(
        `${roomId} stranger-rtc-call`,
        { room: roomId, sender: call.caller },
        "MatrixRTC call from a user who is not allowed: ignored",
      );
      return;
    }
    if (this.answering.has(roomId)) return;
    this.answering.add(roomId);
    void this.answer(roomId, call).finally(() => this.answering.delete(roomId));
  }

  private async answer(roomId: string, call: IncomingCall): Promise<void> {
    const log = this.deps.log.child({ room: roomId, caller: call.caller, device: call.deviceId });
    try {
      const camera = this.deps.defaultCamera();
      const admitted = await this.deps.admission.decide({ kind: "rtc-inbound", roomId, user: call.caller, camera });
      if (!admitted.ok) {
        log.info({ reason: admitted.reason }, "MatrixRTC call to the bot refused");
        await this.deps.notice(roomId, admitted.text);
        return;
      }
      if (camera === undefined) {
        await this.deps.notice(roomId, "I have no camera to show.");
        return;
      }
      log.info(
        { camera, focus: call.focus !== undefined ? redactUrl(call.focus.livekitServiceUrl) : "the bot's own" },
        "joining a MatrixRTC call started by the user",
      );
      const joined = await this.deps.rtc.join(roomId, call, camera);
      if (joined.ok) return;
      log.info({ why: joined.text }, "MatrixRTC call not joined");
      await this.deps.notice(roomId, joined.text);
    } catch (err: unknown) {
      log.warn({ err: errorMessage(err) }, "could not answer a MatrixRTC call");
    }
  }
}
