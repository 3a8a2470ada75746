/**
 * What the Element Call end-to-end files share before their tests: whether they can run (chromium and the
 * livekit-server binary; the reason they skip is said once, on stderr), and a user's Element Call started as a new
 * device of theirs.
 */
import { liveKitBinary } from "../livekit.ts";
import type { RegisteredUser } from "../synapse.ts";
import { chromiumBinary } from "./chromium.ts";
import { startElementCallCallee, type ElementCallCallee } from "./driver.ts";

export type ElementCallGate = { chromium: string; skip?: undefined } | { skip: string };

export function elementCallGate(): ElementCallGate {
  const chromium = chromiumBinary();
  if ("skip" in chromium) return said({ skip: chromium.skip });
  const livekit = liveKitBinary();
  if ("skip" in livekit) return said({ skip: livekit.skip });
  return { chromium: chromium.path };
}

function said(gate: { skip: string }): ElementCallGate {
  process.stderr.write(`${gate.skip}\n`);
  return gate;
}

/** `user`'s Element Call, logged in on `homeserverUrl`, taking its LiveKit tokens from the focus at `focusUrl`. */
export function startUsersElementCall(
  gate: ElementCallGate,
  homeserverUrl: string,
  user: RegisteredUser,
  focusUrl: string,
): Promise<ElementCallCallee> {
  if (gate.skip !== undefined) throw new Error(gate.skip);
  return startElementCallCallee({ chromium: gate.chromium, homeserverUrl, user: user.userId, password: user.password, focusUrl });
}
