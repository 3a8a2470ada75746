/**
 * The few client-server requests a MatrixRTC call makes, over the bot's own authenticated request function
 * (matrix-bot-sdk's `MatrixClient.doRequest`, so the access token stays inside the SDK): state events (also
 * delayed, MSC4140), timeline events, delayed-event updates and whether the homeserver offers delayed events.
 * Every answer is parsed with zod.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { Reused } from "../util/reused.ts";
import { openSlotSchema, RTC_SLOT_OPEN_CONTENT, RTC_SLOT_STATE_KEY, RTC_SLOT_TYPE } from "./rtc-wire.ts";

/** matrix-bot-sdk's `doRequest(method, endpoint, qs, body)`: resolves with the parsed JSON body, throws on errors. */
export type DoRequest = (method: string, endpoint: string, qs?: Record<string, unknown> | null, body?: unknown) => Promise<unknown>;

const eventIdSchema = z.object({ event_id: z.string().min(1) }).loose();
const delayIdSchema = z.object({ delay_id: z.string().min(1) }).loose();
const versionsSchema = z.object({ unstable_features: z.record(z.string(), z.unknown()).optional() }).loose();

export const MSC4140_FEATURE = "org.matrix.msc4140";
/**
 * How long /versions' answer is reused: each call asked it before its delayed PUT, a homeserver round trip on the
 * branch the ring waits for. A homeserver that starts or stops offering delayed events is seen within this time; a
 * call whose delayed PUT is refused meanwhile leaves by sending `{}` itself (arm() says so).
 */
export const VERSIONS_REUSED_MS = 10 * 60_000;
const DELAYED_EVENTS = "/_matrix/client/unstable/org.matrix.msc4140/delayed_events";

export type DelayedAction = "restart" | "send" | "cancel";

const statusSchema = z.object({ statusCode: z.number() }).loose();

/** The HTTP status of a matrix-bot-sdk request error (its MatrixError and raw errors carry `statusCode`), if any. */
export function httpStatusOf(err: unknown): number | undefined {
  const parsed = statusSchema.safeParse(err);
  return parsed.success ? parsed.data.statusCode : undefined;
}

function room(roomId: string): string {
  return `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
}

export class RtcRoomApi {
  private readonly offered = new Reused(
    () => this.askVersions(),
    () => VERSIONS_REUSED_MS,
  );

  constructor(private readonly doRequest: DoRequest) {}

  /** PUT a state event; its event ID. */
  async putState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
    const answer = await this.doRequest(
      "PUT",
      `${room(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`,
      null,
      content,
    );
    return eventIdSchema.parse(answer).event_id;
  }

  /** GET a state event's content; undefined when the room has none (404). */
  async getState(roomId: string, type: string, stateKey: string): Promise<Record<string, unknown> | undefined> {
    try {
      const answer = await this.doRequest("GET", `${room(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`);
      return z.record(z.string(), z.unknown()).parse(answer);
    } catch (err: unknown) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Opens the room's MSC4143 m.call slot (rtc-wire.ts says why) unless it is open already: one read, and a PUT only
   * when needed, so calls in the same room do not add a state event each. Whether it had to be opened.
   */
  async openCallSlot(roomId: string): Promise<boolean> {
    if (openSlotSchema.safeParse(await this.getState(roomId, RTC_SLOT_TYPE, RTC_SLOT_STATE_KEY)).success) return false;
    await this.putState(roomId, RTC_SLOT_TYPE, RTC_SLOT_STATE_KEY, { ...RTC_SLOT_OPEN_CONTENT });
    return true;
  }

  /** PUT a state event the homeserver sends after `delayMs` unless restarted or cancelled (MSC4140); its delay ID. */
  async putDelayedState(
    roomId: string,
    type: string,
    stateKey: string,
    content: Record<string, unknown>,
    delayMs: number,
  ): Promise<string> {
    const answer = await this.doRequest(
      "PUT",
      `${room(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`,
      { "org.matrix.msc4140.delay": delayMs },
      content,
    );
    return delayIdSchema.parse(answer).delay_id;
  }

  /** Sends a timeline event; its event ID. */
  async sendEvent(roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    const answer = await this.doRequest("PUT", `${room(roomId)}/send/${encodeURIComponent(type)}/${randomUUID()}`, null, content);
    return eventIdSchema.parse(answer).event_id;
  }

  /**
   * Restarts, sends now or cancels a delayed event. Synapse serves `/delayed_events/{id}/{action}` and the older
   * `/delayed_events/{id}` with `{action}`; the first is tried, the second only where the first is not routed
   * (405, or 404 M_UNRECOGNIZED: a plain 404 M_NOT_FOUND means the delayed event is gone, e.g. already sent).
   */
  async updateDelayed(delayId: string, action: DelayedAction): Promise<void> {
    const base = `${DELAYED_EVENTS}/${encodeURIComponent(delayId)}`;
    try {
      await this.doRequest("POST", `${base}/${action}`, null, {});
    } catch (err: unknown) {
      const unrouted = httpStatusOf(err) === 405 || (httpStatusOf(err) === 404 && errcodeOf(err) === "M_UNRECOGNIZED");
      if (!unrouted) throw err;
      await this.doRequest("POST", base, null, { action });
    }
  }

  /** Whether the homeserver offers delayed events: `org.matrix.msc4140` in /versions' unstable_features (reused, see above). */
  delayedEventsOffered(): Promise<boolean> {
    return this.offered.get();
  }

  private async askVersions(): Promise<boolean> {
    const parsed = versionsSchema.safeParse(await this.doRequest("GET", "/_matrix/client/versions"));
    return parsed.success && parsed.data.unstable_features?.[MSC4140_FEATURE] === true;
  }
}

const errcodeSchema = z.object({ errcode: z.string() }).loose();
const bodySchema = z.object({ body: errcodeSchema }).loose();

/** The Matrix errcode of a matrix-bot-sdk request error (MatrixError has `errcode`, raw errors a `body`), if any. */
export function errcodeOf(err: unknown): string | undefined {
  const direct = errcodeSchema.safeParse(err);
  if (direct.success) return direct.data.errcode;
  const nested = bodySchema.safeParse(err);
  return nested.success ? nested.data.body.errcode : undefined;
}
