/**
 * One ICE candidate as Matrix call events carry it (m.call.candidates, and in MatrixRTC's to-device
 * equivalents): the rtc/ layer's own type, so rtc/ never needs the call/ wire module.
 */
export interface CandidateWire {
  candidate: string;
  sdpMid?: string;
  sdpMLineIndex?: number;
}

/** The end-of-candidates entry: an empty candidate string (spec: sent once, after gathering completes). */
export const END_OF_CANDIDATES: CandidateWire = { candidate: "" };
