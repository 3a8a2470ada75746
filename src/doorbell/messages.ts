/** What the bot writes into a rung direct chat: the doorbell line, the snapshot, missed and answered notices. */
import type { MatrixClient } from "matrix-bot-sdk";
import { z } from "zod";
import { jpegSize } from "./snapshot.ts";

/** "14:02", in the bot's local time. */
export function clockTime(at: Date): string {
  return `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
}

export const doorbellText = (camera: string, time: string): string => `Doorbell: ${camera}, ${time}`;
export const missedText = (camera: string, time: string): string => `Missed call from the doorbell (${camera}, ${time})`;
export const answeredText = (name: string): string => `Answered by ${name}`;

export interface UploadedImage {
  body: string;
  url: string;
  info: { mimetype: "image/jpeg"; w: number; h: number; size: number };
}

/** Uploads a JPEG to the homeserver's media repository; undefined when the data is no JPEG. */
export async function uploadSnapshot(client: MatrixClient, jpeg: Buffer, name: string): Promise<UploadedImage | undefined> {
  const size = jpegSize(jpeg);
  if (size === undefined) return undefined;
  const url = await client.uploadContent(jpeg, "image/jpeg", name);
  return { body: name, url, info: { mimetype: "image/jpeg", w: size.width, h: size.height, size: jpeg.length } };
}

export function imageContent(image: UploadedImage): Record<string, unknown> {
  return { msgtype: "m.image", body: image.body, url: image.url, info: { ...image.info } };
}

const profileSchema = z.object({ displayname: z.string().min(1).max(256).optional() }).loose();

/** A user's display name, or their user ID when they have none (or the lookup fails). */
export async function displayName(client: MatrixClient, userId: string): Promise<string> {
  try {
    const profile = profileSchema.safeParse(await client.getUserProfile(userId));
    return profile.success && profile.data.displayname !== undefined ? profile.data.displayname : userId;
  } catch {
    return userId;
  }
}
