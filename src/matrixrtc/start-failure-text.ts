/**
 * The one sentence a user reads when a MatrixRTC call could not be placed or joined (rtc-calls.ts), from the reason
 * the call ended with.
 */
/** The one sentence for a start that failed (`verb`: a call placed, or joined): no focus is the usual one, and says what to do. */
export function startFailureText(reason: string, verb: "placed" | "joined" = "placed"): string {
  if (reason.includes("MISSING_MATRIX_RTC_FOCUS")) {
    return `MatrixRTC call not ${verb}: no LiveKit focus was found (the homeserver offers none); an admin can set matrixRtc.livekitServiceUrl, and doctor says more.`;
  }
  // The token service (lk-jwt-service) said no, or is down: the user can only wait or tell an admin, who checks it.
  // Before M_FORBIDDEN: a token service's own refusal may carry that errcode, and is not about the room's power.
  const focus = /the MatrixRTC focus (\S+) (?:refused a LiveKit token: (.*)|did not answer)/.exec(reason);
  if (focus !== null) {
    const what = focus[2] !== undefined ? `refused me a token: ${focus[2].slice(0, 160)}` : "did not answer";
    return `MatrixRTC call not ${verb}: the call server (LiveKit focus ${focus[1] ?? "?"}) ${what}; an admin can check it with doctor.`;
  }
  if (reason.includes("M_FORBIDDEN")) {
    // A DM made with preset private_chat gives the invitee power 0, and call.member needs state_default (50).
    // Element's DMs (trusted_private_chat) give the bot 100; the direct chats the bot creates lower the event's level.
    return `MatrixRTC call not ${verb}: I may not send my call membership in this room (my power level is too low); give me power there, or start a new direct chat with me from Element.`;
  }
  return `MatrixRTC call not ${verb}: ${reason.slice(0, 300)}.`;
}
