/**
 * A real Element-Call-style callee for the MatrixRTC tests: matrix-js-sdk 43's MatrixRTC session and livekit-client
 * in headless Chromium (the stack Element Call runs), driven from Node through CDP. See docs/development.md,
 * "The Element Call callee".
 *
 *   const callee = await startElementCallCallee({ homeserverUrl, user, password, focusUrl });
 *   const ring = await callee.waitForRing(roomId);      // an org.matrix.msc4075.rtc.notification, with js-sdk's verdict
 *   await callee.decline(ring);                         // org.matrix.msc4310.rtc.decline relating to it
 *   await callee.join(roomId);                          // /sfu/get, LiveKit, mic, m.call.member
 *   const stats = await callee.waitForVideo({ frames: 50 });
 *   await callee.leave(); await callee.stop();
 *
 * Everything the browser answers is parsed with the zod schemas of protocol.ts. The password goes to the page only.
 */
import { z } from "zod";
import { harnessLog } from "../log.ts";
import { waitFor } from "../wait.ts";
import { Chromium } from "./chromium.ts";
import { startPageServer, type PageServer } from "./page-server.ts";
import {
  joinResultSchema,
  loginResultSchema,
  mediaStatsSchema,
  membershipsSchema,
  PAGE_API,
  REPORT_BINDING,
  reportSchema,
  type JoinResult,
  type MediaStats,
  type Membership,
  type Ring,
} from "./protocol.ts";

export { chromiumBinary } from "./chromium.ts";
export type { JoinResult, MediaStats, Membership, Ring } from "./protocol.ts";

export interface ElementCallCalleeOptions {
  /** The Chromium binary (chromiumBinary().path). */
  chromium: string;
  homeserverUrl: string;
  /** Localpart or full user id, and its password: the callee logs in as a new device of this user. */
  user: string;
  password: string;
  /** The callee's own MatrixRTC focus (livekit_service_url): where it gets its LiveKit token with /sfu/get. */
  focusUrl: string;
}

export interface ElementCallCallee {
  readonly userId: string;
  readonly deviceId: string;
  /** Every ring seen so far, oldest first. */
  readonly rings: readonly Ring[];
  /** Errors the page reported (a failed getStats, a microphone that could not be published, …). */
  readonly pageErrors: readonly string[];
  acceptInvite(roomId: string): Promise<void>;
  /** The first ring in `roomId` (with `eventId` if given; one already seen counts), or throws after `timeoutMs` (15 s). */
  waitForRing(roomId: string, opts?: { eventId?: string; timeoutMs?: number }): Promise<Ring>;
  /** Sends org.matrix.msc4310.rtc.decline relating to the ring; resolves with the decline's event id. */
  decline(ring: Ring): Promise<string>;
  /**
   * Joins the room's MatrixRTC session and its LiveKit room (through this callee's focus). `ring`: as a caller
   * starting the call, js-sdk also sends the rtc.notification ring (Element Call does in a DM).
   */
  join(roomId: string, opts?: { ring?: boolean }): Promise<JoinResult>;
  /** The room's MatrixRTC session members, as matrix-js-sdk's CallMembership parses them. */
  memberships(roomId: string): Promise<Membership[]>;
  /** What the callee receives in its call (all zero before join()). */
  stats(): Promise<MediaStats>;
  /** Resolves when `frames` video frames (default 30) have been decoded, with the stats at that moment. */
  waitForVideo(opts?: { frames?: number; timeoutMs?: number }): Promise<MediaStats>;
  /** Leaves the MatrixRTC session (empties the membership) and disconnects from LiveKit. */
  leave(): Promise<void>;
  /** Leaves, stops the client, closes Chromium and the page server. Idempotent. */
  stop(): Promise<void>;
  /** The page's console and Chromium's own output (the last 20 kB), for failure messages. */
  log(): string;
}

const EMPTY_STATS: MediaStats = {
  remoteIdentities: [],
  video: { framesPresented: 0, framesDecoded: 0, width: 0, height: 0 },
  audio: { level: 0, maxLevel: 0, totalSamplesReceived: 0 },
};

export async function startElementCallCallee(opts: ElementCallCalleeOptions): Promise<ElementCallCallee> {
  const server: PageServer = await startPageServer();
  const browser = Chromium.launch(opts.chromium);
  const rings: Ring[] = [];
  const pageErrors: string[] = [];
  let consoleLog = "";
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await call("stop", undefined, 10_000).catch(() => undefined);
    await browser.close();
    await server.stop();
  };

  browser.on("Runtime.bindingCalled", (params) => {
    if (params["name"] !== REPORT_BINDING || typeof params["payload"] !== "string") return;
    const parsed = reportSchema.safeParse(JSON.parse(params["payload"]));
    if (!parsed.success) {
      pageErrors.push(`unparsable report: ${params["payload"].slice(0, 200)}`);
      return;
    }
    if (parsed.data.kind === "ring") rings.push(parsed.data.ring);
    else pageErrors.push(`${parsed.data.where}: ${parsed.data.message}`);
  });
  browser.on("Runtime.consoleAPICalled", (params) => {
    const args = Array.isArray(params["args"]) ? params["args"] : [];
    const text = args.map((a: unknown) => (typeof a === "object" && a !== null && "value" in a ? String(a.value) : "")).join(" ");
    consoleLog = `${consoleLog}[${String(params["type"])}] ${text}\n`.slice(-20_000);
  });
  browser.on("Runtime.exceptionThrown", (params) => {
    pageErrors.push(`uncaught: ${JSON.stringify(params["exceptionDetails"]).slice(0, 500)}`);
  });

  let sessionId = "";
  /** Calls window.mccCallee[fn](arg) in the page and returns its (JSON) value. */
  async function call(fn: string, arg: unknown, timeoutMs = 30_000): Promise<unknown> {
    return evaluate(`window.${PAGE_API}.${fn}(${arg === undefined ? "" : JSON.stringify(arg)})`, fn, timeoutMs);
  }
  async function evaluate(expression: string, fn: string, timeoutMs = 30_000): Promise<unknown> {
    const result = await browser.evaluate(sessionId, expression, timeoutMs);
    if (result.exception !== undefined) throw new Error(`callee ${fn} failed: ${result.exception}`);
    return result.value;
  }
  const parse = <T>(schema: z.ZodType<T>, value: unknown, what: string): T => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new Error(`the callee page answered ${what} with an unexpected shape: ${parsed.error.message}`);
    return parsed.data;
  };

  let login: { userId: string; deviceId: string };
  try {
    sessionId = await browser.openPage();
    await browser.send("Runtime.addBinding", { name: REPORT_BINDING }, sessionId);
    await browser.send("Page.enable", {}, sessionId);
    await browser.send("Page.navigate", { url: server.url }, sessionId);
    await waitFor("the callee page to load", async () => (await evaluate(`typeof window.${PAGE_API} === "object"`, "load")) === true, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    login = parse(
      loginResultSchema,
      await call("login", { homeserverUrl: opts.homeserverUrl, user: opts.user, password: opts.password }),
      "login",
    );
  } catch (err: unknown) {
    await stop();
    throw err;
  }
  harnessLog.debug({ userId: login.userId, deviceId: login.deviceId, pid: browser.pid }, "element call callee logged in");

  const stats = async (): Promise<MediaStats> => {
    const value = await call("stats", undefined);
    return value === undefined || value === null ? EMPTY_STATS : parse(mediaStatsSchema, value, "stats");
  };
  return {
    userId: login.userId,
    deviceId: login.deviceId,
    rings,
    pageErrors,
    acceptInvite: async (roomId) => {
      await call("acceptInvite", roomId);
    },
    waitForRing: (roomId, o) =>
      waitFor(
        `a MatrixRTC ring in ${roomId}`,
        () => rings.find((r) => r.roomId === roomId && (o?.eventId === undefined || r.eventId === o.eventId)),
        { timeoutMs: o?.timeoutMs ?? 15_000 },
      ),
    decline: async (ring) => String(await call("decline", { roomId: ring.roomId, notificationEventId: ring.eventId })),
    join: async (roomId, o) =>
      parse(joinResultSchema, await call("join", { roomId, focusUrl: opts.focusUrl, ring: o?.ring === true }), "join"),
    memberships: async (roomId) => parse(membershipsSchema, await call("memberships", roomId), "memberships"),
    stats,
    waitForVideo: async (o) => {
      let last = EMPTY_STATS;
      try {
        return await waitFor(
          `${String(o?.frames ?? 30)} decoded video frames at the callee`,
          async () => {
            last = await stats();
            return last.video.framesDecoded >= (o?.frames ?? 30) ? last : undefined;
          },
          { timeoutMs: o?.timeoutMs ?? 20_000, intervalMs: 100 },
        );
      } catch (err: unknown) {
        // What the page saw is the useful part of this failure.
        throw new Error(
          `${err instanceof Error ? err.message : String(err)}; stats ${JSON.stringify(last)}; page errors: ${pageErrors.join(" | ") || "none"}`,
          { cause: err },
        );
      }
    },
    leave: async () => {
      await call("leave", undefined);
    },
    stop,
    log: () => `${consoleLog}\n--- chromium ---\n${browser.log()}`,
  };
}
