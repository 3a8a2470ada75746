/**
 * A rig user in a room's MatrixRTC call as Element X puts them there: LiveKit first (a token from the focus's /sfu/get
 * with the user's OpenID token; the subscriber connected), then their call.member naming that focus; and their leave,
 * the membership emptied.
 */
import { CALL_MEMBER_TYPE, membershipStateKey } from "../../src/matrixrtc/rtc-wire.ts";
import { requestOpenIdToken, requestSfuToken } from "../../src/matrixrtc/sfu-token.ts";
import type { LiveKitSubscriber } from "./livekit-subscriber.ts";
import type { RigParts } from "./rig.ts";

export async function joinAsElementX(
  rig: RigParts,
  name: string,
  roomId: string,
  serviceUrl: string,
  subscriber: LiveKitSubscriber,
): Promise<void> {
  await connectAsElementX(rig, name, roomId, serviceUrl, subscriber);
  await memberAsElementX(rig, name, roomId, serviceUrl);
}

/** The user's LiveKit client into the room's LiveKit room: OpenID token → the focus's /sfu/get → connect. */
export async function connectAsElementX(
  rig: RigParts,
  name: string,
  roomId: string,
  serviceUrl: string,
  subscriber: LiveKitSubscriber,
): Promise<void> {
  const user = rig.user(name);
  const openid = await requestOpenIdToken(rig.synapse.baseUrl, user.accessToken, user.userId);
  const token = await requestSfuToken({ serviceUrl, roomId, deviceId: user.deviceId, openIdToken: openid });
  await subscriber.connect(token.url, token.jwt);
}

/** The user's call.member as Element X sends it once its LiveKit client is connected, naming the focus at `serviceUrl`. */
export async function memberAsElementX(rig: RigParts, name: string, roomId: string, serviceUrl: string): Promise<void> {
  const user = rig.user(name);
  await rig.callee(name).client.sendStateEvent(
    roomId,
    CALL_MEMBER_TYPE as never,
    {
      application: "m.call",
      call_id: "",
      scope: "m.room",
      device_id: user.deviceId,
      expires: 14_400_000,
      focus_active: { type: "livekit", focus_selection: "multi_sfu" },
      foci_preferred: [{ type: "livekit", livekit_service_url: serviceUrl, livekit_alias: roomId }],
    } as never,
    membershipStateKey(user.userId, user.deviceId),
  );
}

export async function leaveAsElementX(rig: RigParts, name: string, roomId: string): Promise<void> {
  const user = rig.user(name);
  await rig
    .callee(name)
    .client.sendStateEvent(roomId, CALL_MEMBER_TYPE as never, {} as never, membershipStateKey(user.userId, user.deviceId));
}
