/**
 * Carries out a chat command that bot.ts has already accepted (parsed, from an allowed user, not stale): the
 * extension's commands first, then !help, !cameras, !status, !call, !switch, !hangup, each with its reply in the
 * room. Separate from bot.ts because this is where the user-facing text and the call-placement policy for commands
 * live (admission, refusal, which cameras a user is told about), while bot.ts only routes events.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CallAdmission } from "../admission/admission.ts";
import { CallRefusedError } from "../admission/refusal.ts";
import type { CameraAccess } from "../admission/access.ts";
import type { CallManager } from "../call/manager.ts";
import type { CameraConfig } from "../config/load.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { camerasText, helpText, type BotExtension, type Command } from "./commands.ts";

/** The reply to !hangup or !switch from someone who is not the party of the call in the room. */
const NOT_YOURS = "The call in progress here is not yours: only the person it connects can end it or switch its camera.";

export class CommandHandler {
  constructor(
    private readonly client: MatrixClient,
    private readonly cameraAccess: CameraAccess,
    private readonly cameras: readonly CameraConfig[],
    private readonly calls: CallManager,
    private readonly log: Logger,
    private readonly statusText: (viewer: string, cameras: readonly string[]) => Promise<string>,
    private readonly admission: CallAdmission,
    private readonly extension?: BotExtension,
  ) {}

  private notice(roomId: string, text: string): Promise<unknown> {
    return this.client.sendNotice(roomId, text);
  }

  /** The names of the cameras `userId` may use: the only ones the bot names to them or lets them choose. */
  private namesFor(userId: string): string[] {
    return this.cameraAccess.camerasFor(userId, this.cameras).map((c) => c.name);
  }

  async runCommand(roomId: string, sender: string, command: Command): Promise<void> {
    if (await this.extension?.runCommand(roomId, sender, command)) return;
    switch (command.kind) {
      case "help":
        await this.notice(roomId, helpText(this.namesFor(sender)));
        return;
      case "cameras":
        await this.notice(roomId, camerasText(this.cameraAccess.camerasFor(sender, this.cameras)));
        return;
      case "unknown":
        await this.notice(roomId, `Unknown command !${command.word}. Type !help for the commands.`);
        return;
      case "hangup":
        switch (this.calls.hangupRoom(roomId, sender)) {
          case "no_call":
            await this.notice(roomId, "There is no call in progress here.");
            return;
          case "not_yours":
            await this.notice(roomId, NOT_YOURS);
            return;
          case "ended":
            return;
        }
        return;
      case "call":
        await this.call(roomId, sender, command.camera);
        return;
      case "switch":
        await this.switchCamera(roomId, sender, command.camera);
        return;
      case "status":
        await this.notice(roomId, await this.statusText(sender, this.namesFor(sender)));
        return;
      case "ring":
        await this.notice(roomId, "This bot rings with legacy calls only.");
        return;
    }
  }

  /** !switch: the sender's call in this room shows another camera (one they may use), without renegotiation. */
  private async switchCamera(roomId: string, sender: string, camera: string | undefined): Promise<void> {
    const names = this.namesFor(sender);
    if (camera === undefined) {
      await this.notice(roomId, `Which camera? Type !switch <camera>. Cameras: ${names.join(", ")}`);
      return;
    }
    // A camera the sender may not use is one the bot does not name to them: "unknown", like a missing one.
    if (!names.includes(camera)) {
      await this.notice(roomId, `Unknown camera "${camera.slice(0, 32)}". Cameras: ${names.join(", ")}`);
      return;
    }
    try {
      // A MatrixRTC call in the room (the extension's) first, else the legacy call: the same answers either way.
      const result =
        (await this.extension?.switchCamera?.(roomId, camera, sender)) ?? (await this.calls.switchCamera(roomId, camera, sender));
      switch (result) {
        case "no_call":
          await this.notice(roomId, "There is no call in progress here. Type !call <camera> to start one.");
          return;
        case "not_yours":
          await this.notice(roomId, NOT_YOURS);
          return;
        case "unknown_camera":
          await this.notice(roomId, `Unknown camera "${camera.slice(0, 32)}". Cameras: ${names.join(", ")}`);
          return;
        case "same_camera":
          await this.notice(roomId, `The call already shows ${camera}.`);
          return;
        case "switched":
          await this.notice(roomId, `Now showing ${camera}.`);
          return;
      }
    } catch (err: unknown) {
      this.log.warn({ room: roomId, camera, err: errorMessage(err) }, "could not switch the camera");
      await this.notice(roomId, `Could not switch to ${camera}: ${errorMessage(err)}`);
    }
  }

  private async call(roomId: string, sender: string, camera: string | undefined): Promise<void> {
    if (camera === undefined) {
      await this.notice(roomId, `Which camera? Type !call <camera>. Cameras: ${this.namesFor(sender).join(", ")}`);
      return;
    }
    const admitted = await this.admission.decide({ kind: "command", roomId, user: sender, camera });
    if (!admitted.ok) {
      this.log.info({ room: roomId, sender, camera, reason: admitted.reason }, "call refused");
      await this.notice(roomId, admitted.text);
      return;
    }
    try {
      await this.calls.placeCall(roomId, admitted.callee, camera);
    } catch (err: unknown) {
      if (err instanceof CallRefusedError) {
        this.log.info({ room: roomId, sender, camera, reason: err.refusal.reason }, "call refused as it was placed");
        await this.notice(roomId, err.refusal.text);
        return;
      }
      this.log.error({ room: roomId, camera, err: errorMessage(err) }, "could not place the call");
      await this.notice(roomId, `The call to ${camera} could not be placed: ${errorMessage(err)}`);
    }
  }
}
