/**
 * The chat side of MatrixRTC calls, beside bot.ts (which stays the legacy calls' wiring): `!ring` (how `!call`
 * rings the sender). It sees every command first and returns `true` for those it carried out; everything else
 * goes on to bot.ts.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { RingChoices } from "../matrixrtc/ring-choice.ts";
import { ringChoiceText } from "../matrixrtc/ring-choice.ts";
import type { BotExtension, Command } from "./commands.ts";

export class RtcCommands implements BotExtension {
  constructor(
    private readonly client: MatrixClient,
    private readonly choices: RingChoices,
  ) {}

  async runCommand(roomId: string, sender: string, command: Command): Promise<boolean> {
    if (command.kind !== "ring") return false;
    await this.ring(roomId, sender, command);
    return true;
  }

  roomEvent(): void {
    // Step 2 feeds the RTC calls of the room.
  }

  private async ring(roomId: string, sender: string, command: Extract<Command, { kind: "ring" }>): Promise<void> {
    if (command.invalid !== undefined) {
      await this.client.sendNotice(roomId, `"${command.invalid}" is not a choice. Type !ring legacy, !ring matrixrtc or !ring both.`);
      return;
    }
    if (command.via !== undefined) this.choices.set(sender, command.via);
    await this.client.sendNotice(roomId, ringChoiceText(this.choices.for(sender), this.choices.isOwnChoice(sender)));
  }
}
