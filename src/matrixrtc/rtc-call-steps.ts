/**
 * The real focus and token steps of an RtcCall: the focus found as Element Call finds it (focus.ts: config,
 * rtc/transports, well-known), then an OpenID token from the bot's homeserver exchanged at the focus's `/sfu/get`
 * (sfu-token.ts). No focus is an error that says where the bot looked and what each place answered.
 */
import { discoverFocus, type LiveKitFocus } from "./focus.ts";
import type { RtcCallSteps } from "./rtc-call.ts";
import { requestOpenIdToken, requestSfuToken, type SfuToken } from "./sfu-token.ts";

export interface HomeserverStepsOptions {
  homeserverUrl: string;
  accessToken: string;
  userId: string;
  deviceId: string;
  roomId: string;
  /** matrixRtc.livekitServiceUrl. */
  configured?: string;
  fetch?: typeof fetch;
}

export function homeserverSteps(o: HomeserverStepsOptions): RtcCallSteps {
  const serverName = o.userId.slice(o.userId.indexOf(":") + 1);
  return {
    async focus(): Promise<LiveKitFocus> {
      const found = await discoverFocus({
        homeserverUrl: o.homeserverUrl,
        accessToken: o.accessToken,
        serverName,
        ...(o.configured !== undefined ? { configured: o.configured } : {}),
        ...(o.fetch !== undefined ? { fetch: o.fetch } : {}),
      });
      if (found.focus !== undefined) return found.focus;
      throw new Error(`no MatrixRTC focus (MISSING_MATRIX_RTC_FOCUS): ${found.attempts.map((a) => `${a.where} ${a.outcome}`).join("; ")}`);
    },
    async token(focus: LiveKitFocus): Promise<SfuToken> {
      const openIdToken = await requestOpenIdToken(o.homeserverUrl, o.accessToken, o.userId, o.fetch);
      return requestSfuToken({ serviceUrl: focus.livekitServiceUrl, roomId: o.roomId, deviceId: o.deviceId, openIdToken }, o.fetch);
    },
  };
}

/**
 * The steps of a call the bot joins: the caller's focus (incoming-membership.ts callerFocus says why) where their
 * membership names a usable one, else the bot's own as for a call it places; the token as always, from the bot's
 * homeserver's OpenID token at that focus (lk-jwt-service lets any homeserver's user join a LiveKit room that
 * exists, and the caller's is there already). The caller's focus is tried for a token at once: one that refuses the
 * bot (a token service that checks homeservers more strictly than lk-jwt-service) leaves the bot's own focus, where
 * a multi-SFU caller still subscribes to the bot (js-sdk reads each member's foci_preferred[0]).
 */
export function joinSteps(home: RtcCallSteps, callerFocus: LiveKitFocus | undefined, onFallback?: (err: unknown) => void): RtcCallSteps {
  let early: { focus: LiveKitFocus; token: SfuToken } | undefined;
  return {
    async focus(): Promise<LiveKitFocus> {
      if (callerFocus === undefined) return home.focus();
      try {
        early = { focus: callerFocus, token: await home.token(callerFocus) };
        return callerFocus;
      } catch (err: unknown) {
        onFallback?.(err);
        return home.focus();
      }
    },
    token: (focus) => (early !== undefined && early.focus === focus ? Promise.resolve(early.token) : home.token(focus)),
  };
}
