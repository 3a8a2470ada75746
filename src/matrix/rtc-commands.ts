/**
 * The chat side of MatrixRTC calls, beside bot.ts (which stays the legacy calls' wiring): `!ring` (how `!call`
 * rings the sender), `!call` for a sender whose choice is `matrixrtc` or `both`, `!hangup` of a MatrixRTC call, and
 * the DM's room events to its call, or (no call there) to RtcIncoming, which joins a call the user starts, and
 * `!switch` of a MatrixRTC call (command-handler.ts asks, and answers with the legacy words). It sees every command
 * first and returns `true` for those it carried out; everything else (a legacy `!call`, ...) goes on to bot.ts.
 *
 * A `!call` here is admitted by the same CallAdmission as a legacy one (room, allowlist, camera rights, busy room,
 * concurrency, rate), asked once: `both` is one call rung two ways, counted once against the user's rate. Its
 * first answer wins (RingRace): the legacy invite is hung up, or the MatrixRTC membership emptied, at once.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CallAdmission } from "../admission/admission.ts";
import { CallRefusedError } from "../admission/refusal.ts";
import type { CallManager } from "../call/manager.ts";
import { RingRace } from "../call/ring-race.ts";
import { CallState } from "../call/state.ts";
import type { RingVia } from "../config/schema.ts";
import type { RtcCalls, SwitchResult } from "../matrixrtc/rtc-calls.ts";
import { ringChoiceText, type RingChoices } from "../matrixrtc/ring-choice.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import type { BotExtension, Command } from "./commands.ts";
import type { RtcIncoming } from "./rtc-incoming.ts";

type LegacyCalls = Pick<CallManager, "placeCall" | "callInRoom">;

export class RtcCommands implements BotExtension {
  constructor(
    private readonly client: MatrixClient,
    private readonly choices: RingChoices,
    private readonly rtc: RtcCalls,
    private readonly legacy: LegacyCalls,
    private readonly admission: CallAdmission,
    private readonly log: Logger,
    /** Calls users start (being called); without it a user's call.member starts nothing. */
    private readonly incoming?: RtcIncoming,
  ) {}

  async runCommand(roomId: string, sender: string, command: Command): Promise<boolean> {
    switch (command.kind) {
      case "ring":
        await this.ring(roomId, sender, command);
        return true;
      case "call": {
        const via = this.choices.for(sender);
        // No camera: bot.ts asks which; a legacy choice: bot.ts's !call as before.
        if (command.camera === undefined || via === "legacy") return false;
        await this.call(roomId, sender, command.camera, via);
        return true;
      }
      case "hangup":
        return this.hangup(roomId, sender);
      default:
        return false;
    }
  }

  roomEvent(roomId: string, raw: unknown): void {
    if (!this.rtc.roomEvent(roomId, raw)) this.incoming?.roomEvent(roomId, raw);
  }

  calleeIn(roomId: string): string | undefined {
    return this.rtc.calleeIn(roomId);
  }

  busyIn(roomId: string): boolean {
    return this.rtc.busyIn(roomId);
  }

  roomLeft(roomId: string): void {
    this.rtc.roomLeft(roomId);
  }

  async switchCamera(roomId: string, camera: string, by: string): Promise<SwitchResult | undefined> {
    if (this.rtc.callInRoom(roomId) === undefined) return undefined;
    return this.rtc.switchRoom(roomId, camera, by);
  }

  private notice(roomId: string, text: string): Promise<unknown> {
    return this.client.sendNotice(roomId, text);
  }

  private async ring(roomId: string, sender: string, command: Extract<Command, { kind: "ring" }>): Promise<void> {
    if (command.invalid !== undefined) {
      await this.notice(roomId, `"${command.invalid}" is not a choice. Type !ring legacy, !ring matrixrtc or !ring both.`);
      return;
    }
    if (command.via !== undefined) this.choices.set(sender, command.via);
    await this.notice(roomId, ringChoiceText(this.choices.for(sender), this.choices.isOwnChoice(sender)));
  }

  private async call(roomId: string, sender: string, camera: string, via: Exclude<RingVia, "legacy">): Promise<void> {
    const admitted = await this.admission.decide({ kind: "command", roomId, user: sender, camera });
    if (!admitted.ok) {
      this.log.info({ room: roomId, sender, camera, reason: admitted.reason, via }, "call refused");
      await this.notice(roomId, admitted.text);
      return;
    }
    // Both rings go out together: neither waits for the other's set-up (focus, token, TURN). The first answered wins.
    const race = new RingRace<"legacy" | "matrixrtc">();
    const legacy = via === "both" ? this.placeLegacy(roomId, admitted.callee, camera, race) : Promise.resolve(false);
    const [placed, legacyRings] = await Promise.all([this.rtc.place(roomId, admitted.callee, camera), legacy]);
    if (placed.ok) {
      const call = placed.call;
      race.enter("matrixrtc", () => void call.terminate("answered on the legacy call"));
      if (call.state === "connected") race.answered("matrixrtc");
      else
        call.on("state", (state) => {
          if (state === "connected") race.answered("matrixrtc");
        });
      return;
    }
    this.log.info({ room: roomId, camera, why: placed.text }, "MatrixRTC call not placed");
    await this.notice(roomId, legacyRings ? `${placed.text} The legacy call rings.` : placed.text);
  }

  /** The legacy ring of a `both` call; false (the user told why) when it could not be placed. */
  private async placeLegacy(roomId: string, callee: string, camera: string, race: RingRace<"legacy" | "matrixrtc">): Promise<boolean> {
    try {
      const session = await this.legacy.placeCall(roomId, callee, camera);
      race.enter("legacy", () => {
        session.hangup("user_hangup");
      });
      // Answered: the answer accepted (connecting), possibly before placeCall returned.
      const answered = (state: CallState): boolean => state === CallState.Connecting || state === CallState.Connected;
      if (answered(session.state)) race.answered("legacy");
      else
        session.on("state", (state) => {
          if (answered(state)) race.answered("legacy");
        });
      return true;
    } catch (err: unknown) {
      const text =
        err instanceof CallRefusedError ? err.refusal.text : `The legacy call to ${camera} could not be placed: ${errorMessage(err)}`;
      this.log.warn({ room: roomId, camera, err: errorMessage(err) }, "could not place the legacy call");
      await this.notice(roomId, text);
      return false;
    }
  }

  /** `!hangup`: the MatrixRTC call here; a legacy call in the room too (a `both` call) is left to bot.ts. */
  private async hangup(roomId: string, sender: string): Promise<boolean> {
    const result = this.rtc.hangupRoom(roomId, sender);
    if (result === "no_call" || this.legacy.callInRoom(roomId) !== undefined) return false;
    if (result === "not_yours") {
      await this.notice(roomId, "The call in progress here is not yours: only the person it connects can end it.");
    }
    return true;
  }
}
