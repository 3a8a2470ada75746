import type { CameraConfig } from "../../config/load.ts";
import { errorMessage } from "../../util/logger.ts";
import { REQUIRE, target } from "./backchannel.ts";
import { RtspConnection } from "./rtsp.ts";
import { findBackchannel } from "./sdp.ts";

/** Whether the camera offers an ONVIF backchannel, and in which codec (doctor): one DESCRIBE, then the connection closes. */
export async function probeBackchannel(url: string): Promise<{ ok: true; codec: string } | { ok: false; reason: string }> {
  let conn: RtspConnection | undefined;
  try {
    const t = target(url);
    conn = await RtspConnection.open(t.host, t.port, t.creds);
    const res = await conn.request("DESCRIBE", t.requestUrl, { ...REQUIRE, Accept: "application/sdp" });
    if (res.status < 200 || res.status > 299) return { ok: false, reason: `the camera answered DESCRIBE with ${res.status}` };
    const found = findBackchannel(res.body, res.headers.get("content-base")?.[0] ?? t.requestUrl);
    return found.ok ? { ok: true, codec: `${found.track.codec}/8000` } : { ok: false, reason: found.reason };
  } catch (err: unknown) {
    return { ok: false, reason: errorMessage(err) };
  } finally {
    conn?.close();
  }
}

/** The doctor's line for a camera with talkback configured (undefined for the others). */
export async function checkTalkback(camera: CameraConfig): Promise<{ name: string; status: "pass" | "warn"; detail: string } | undefined> {
  const tb = camera.talkback;
  if (tb === undefined || tb === "off") return undefined;
  const name = `talkback ${camera.name}`;
  if (typeof tb === "object" && "exec" in tb)
    return { name, status: "pass", detail: `command ${tb.exec[0] ?? ""} (${tb.format}/${tb.rate})` };
  const probe = await probeBackchannel(camera.url);
  if (probe.ok) return { name, status: "pass", detail: `ONVIF backchannel ${probe.codec}` };
  return { name, status: tb === "auto" ? "pass" : "warn", detail: `no backchannel: ${probe.reason}; calls are one way` };
}
