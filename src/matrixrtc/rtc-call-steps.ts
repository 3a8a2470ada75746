/**
 * The real focus and token steps of an RtcCall: the focus found as Element Call finds it (focus.ts: config,
 * rtc/transports, well-known), then an OpenID token from the bot's homeserver exchanged at the focus's `/sfu/get`
 * (sfu-token.ts). No focus is an error that says where the bot looked and what each place answered.
 */
import { Reused } from "../util/reused.ts";
import { discoverFocus, type LiveKitFocus } from "./focus.ts";
import type { RtcCallSteps } from "./rtc-call.ts";
import { requestOpenIdToken, requestSfuToken, SfuTokenError, type OpenIdToken, type SfuToken } from "./sfu-token.ts";

export interface HomeserverStepsOptions {
  homeserverUrl: string;
  accessToken: string;
  userId: string;
  deviceId: string;
  /** matrixRtc.livekitServiceUrl. */
  configured?: string;
  fetch?: typeof fetch;
}

/**
 * How long a discovered focus is reused: each call looked it up (rtc/transports, then the server name's well-known,
 * maybe another host) before its token, in series before the ring. A focus the homeserver's admin changes is seen
 * within this time; one that refuses a token is looked up again at the next call.
 */
export const FOCUS_REUSED_MS = 10 * 60_000;

/**
 * The focus and token steps of every call the bot places or joins from one homeserver account. Both answers every
 * call needs before its ring are kept between calls: the focus (FOCUS_REUSED_MS), and the bot's OpenID token for
 * half its life (Synapse gives 3600 s; the token service checks it with the homeserver at every exchange). The first
 * call after either lapses asks again. A failed exchange at the kept focus forgets it; a 401/403 forgets the token.
 */
export class HomeserverSteps {
  private readonly focus: Reused<LiveKitFocus>;
  private readonly openId: Reused<OpenIdToken>;

  constructor(private readonly o: HomeserverStepsOptions) {
    const serverName = o.userId.slice(o.userId.indexOf(":") + 1);
    this.focus = new Reused(
      async () => {
        const found = await discoverFocus({
          homeserverUrl: o.homeserverUrl,
          accessToken: o.accessToken,
          serverName,
          ...(o.configured !== undefined ? { configured: o.configured } : {}),
          ...(o.fetch !== undefined ? { fetch: o.fetch } : {}),
        });
        if (found.focus !== undefined) return found.focus;
        throw new Error(
          `no MatrixRTC focus (MISSING_MATRIX_RTC_FOCUS): ${found.attempts.map((a) => `${a.where} ${a.outcome}`).join("; ")}`,
        );
      },
      () => FOCUS_REUSED_MS,
    );
    this.openId = new Reused(
      () => requestOpenIdToken(o.homeserverUrl, o.accessToken, o.userId, o.fetch),
      (token) => (token.expires_in * 1000) / 2,
    );
  }

  /** Asks now what the first call would wait for; a failure is only logged by the caller (the call asks again). */
  warm(): Promise<unknown> {
    return Promise.all([this.focus.get(), this.openId.get()]);
  }

  /** The steps of a call in `roomId` (the LiveKit room is named after it). */
  forRoom(roomId: string): RtcCallSteps {
    return {
      focus: () => this.focus.get(),
      token: async (focus) => {
        const openIdToken = await this.openId.get();
        try {
          return await requestSfuToken(
            { serviceUrl: focus.livekitServiceUrl, roomId, deviceId: this.o.deviceId, openIdToken },
            this.o.fetch,
          );
        } catch (err: unknown) {
          // The kept focus refused or did not answer: the next call looks again. Its 401/403 may be about the OpenID
          // token (a homeserver that lost it): asked anew too. A caller's focus refusing the bot says neither.
          const kept = this.focus.forget(focus);
          if (kept && err instanceof SfuTokenError && (err.status === 401 || err.status === 403)) this.openId.forget();
          throw err;
        }
      },
    };
  }
}

/** The steps of one call, with nothing kept for the next (tests that want each call to ask afresh). */
export function homeserverSteps(o: HomeserverStepsOptions & { roomId: string }): RtcCallSteps {
  return new HomeserverSteps(o).forRoom(o.roomId);
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
