/** What `!status` answers: the viewer's calls of both kinds, the cameras they may see, talkback, TURN, encryption, ffmpeg. */
import { callFigures, callStatusLines } from "../call/call-figures.ts";
import type { CallManager } from "../call/manager.ts";
import type { CameraHub } from "../media/camera-hub.ts";
import type { RtcCalls } from "../matrixrtc/rtc-calls.ts";
import type { TurnCredentials } from "../rtc/turn.ts";
import type { TalkbackHub } from "../talkback/hub.ts";

export interface StatusSources {
  hub: CameraHub;
  calls: CallManager;
  rtcCalls: RtcCalls;
  talkback: TalkbackHub;
  turn: TurnCredentials;
  encryption: boolean;
  ffmpegVersion: string;
}

/** The `!status` text for `viewer`, who may see the cameras in `visible`. */
export type StatusText = (viewer: string, visible: readonly string[]) => Promise<string>;

export function statusText(s: StatusSources): StatusText {
  return async (viewer, visible) => {
    const cameras = Object.entries(s.hub.stats())
      .filter(([name]) => visible.includes(name))
      .map(
        ([name, c]) =>
          `${name} ${c.state}${c.leases > 0 ? ` (${c.leases} call${c.leases === 1 ? "" : "s"})` : ""}${c.restarts > 0 ? `, ${c.restarts} reconnects` : ""}${c.divisor > 1 ? `, picture scaled to 1/${String(c.divisor)} (CPU overloaded)` : ""}`,
      );
    const turnServers = await s.turn.iceServers();
    return [
      ...callStatusLines(await callFigures(s.calls.sessions()), viewer),
      ...s.rtcCalls.statusLines(viewer),
      `Cameras: ${cameras.join("; ")}`,
      ...s.talkback.statusLines(s.calls.sessions()),
      `TURN: ${turnServers.length > 0 ? "yes" : "none (calls across NAT may fail; run doctor)"}`,
      `End-to-end encryption: ${s.encryption ? "yes" : "no (use an unencrypted DM)"}`,
      `ffmpeg: ${s.ffmpegVersion}`,
    ].join("\n");
  };
}
