/** Routes a parsed m.call.* event (other than an invite) to the signalling of its call, by direction. */
import type { Logger } from "../util/logger.ts";
import type { IncomingCall } from "./incoming-signalling.ts";
import type { OutgoingCall } from "./outgoing-signalling.ts";
import { answerSchema, CallEventType, candidatesSchema, hangupSchema, negotiateSchema, rejectSchema, selectAnswerSchema } from "./wire.ts";

/** A call in progress, in either direction. */
export type ActiveCall = OutgoingCall | IncomingCall;

/** An m.call.* event from a room, with how old it is (ms). */
export interface RoomCallEvent {
  roomId: string;
  sender: string;
  type: string;
  content: unknown;
  ageMs: number;
}

/** Which events each direction uses; the rest are logged and dropped. */
const USED: Record<ActiveCall["direction"], ReadonlySet<string>> = {
  // The bot's own calls are version 0: no select_answer or negotiate (spec: v0 has no renegotiation).
  outgoing: new Set([CallEventType.Answer, CallEventType.Candidates, CallEventType.Hangup, CallEventType.Reject]),
  // A callee gets no answer or reject from its caller.
  incoming: new Set([CallEventType.Candidates, CallEventType.Hangup, CallEventType.SelectAnswer, CallEventType.Negotiate]),
};

export function routeCallEvent(call: ActiveCall, event: RoomCallEvent, log: Logger): void {
  const { type, content } = event;
  const signalling = call.signalling;
  if (!USED[signalling.direction].has(type)) {
    log.debug({ type, direction: signalling.direction }, "call event not used by this call");
    return;
  }
  const bad = (): void => {
    log.warn({ type }, "malformed call event ignored");
  };
  switch (type) {
    case CallEventType.Candidates: {
      const p = candidatesSchema.safeParse(content);
      if (p.success) signalling.onCandidates(p.data);
      else bad();
      return;
    }
    case CallEventType.Hangup: {
      const p = hangupSchema.safeParse(content);
      if (p.success) signalling.onHangup(p.data);
      else bad();
      return;
    }
  }
  if (signalling.direction === "incoming") {
    if (type === CallEventType.SelectAnswer) {
      const p = selectAnswerSchema.safeParse(content);
      if (p.success) signalling.onSelectAnswer(p.data);
      else bad();
    } else {
      const p = negotiateSchema.safeParse(content);
      if (p.success) signalling.onNegotiate(p.data, event.ageMs);
      else bad();
    }
    return;
  }
  if (type === CallEventType.Answer) {
    const p = answerSchema.safeParse(content);
    if (p.success) signalling.onAnswer(p.data);
    else bad();
  } else {
    const p = rejectSchema.safeParse(content);
    if (p.success) signalling.onReject(p.data);
    else bad();
  }
}
