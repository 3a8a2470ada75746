/** Routes a parsed m.call.* event (other than an invite) to the session of its call, by direction. */
import type { Logger } from "../util/logger.ts";
import { InboundCallSession } from "./inbound-session.ts";
import type { CallSession } from "./session.ts";
import { answerSchema, CallEventType, candidatesSchema, hangupSchema, negotiateSchema, rejectSchema, selectAnswerSchema } from "./wire.ts";

/** A call in progress, in either direction. */
export type ActiveCall = CallSession | InboundCallSession;

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

export function routeCallEvent(session: ActiveCall, event: RoomCallEvent, log: Logger): void {
  const { type, content } = event;
  if (!USED[session.direction].has(type)) {
    log.debug({ type, direction: session.direction }, "call event not used by this call");
    return;
  }
  const bad = (): void => {
    log.warn({ type }, "malformed call event ignored");
  };
  switch (type) {
    case CallEventType.Candidates: {
      const p = candidatesSchema.safeParse(content);
      if (p.success) session.onCandidates(p.data);
      else bad();
      return;
    }
    case CallEventType.Hangup: {
      const p = hangupSchema.safeParse(content);
      if (p.success) session.onHangup(p.data);
      else bad();
      return;
    }
  }
  if (session instanceof InboundCallSession) {
    if (type === CallEventType.SelectAnswer) {
      const p = selectAnswerSchema.safeParse(content);
      if (p.success) session.onSelectAnswer(p.data);
      else bad();
    } else {
      const p = negotiateSchema.safeParse(content);
      if (p.success) session.onNegotiate(p.data, event.ageMs);
      else bad();
    }
    return;
  }
  if (type === CallEventType.Answer) {
    const p = answerSchema.safeParse(content);
    if (p.success) session.onAnswer(p.data);
    else bad();
  } else {
    const p = rejectSchema.safeParse(content);
    if (p.success) session.onReject(p.data);
    else bad();
  }
}
