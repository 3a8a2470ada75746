import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CALL_EVENT_TYPES, SPEC_FIXTURES_DIR, validateCallEvent } from "../harness/spec-validator.ts";

const EXAMPLES_DIR = join(SPEC_FIXTURES_DIR, "data", "event-schemas", "examples");

interface Example {
  type: string;
  content: Record<string, unknown>;
}

function example(type: string): Example {
  return parseYaml(readFileSync(join(EXAMPLES_DIR, `${type}.yaml`), "utf8")) as Example;
}

/** A copy of `obj` without `key`. */
function without(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => k !== key));
}

const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

describe("vendored matrix-spec fixtures", () => {
  it("has an example for every call event type the validator knows, and nothing else", () => {
    const files = readdirSync(EXAMPLES_DIR)
      .filter((f) => f.startsWith("m.call."))
      .sort();
    expect(files).toEqual(CALL_EVENT_TYPES.map((t) => `${t}.yaml`).sort());
  });

  it("carries the licence and a provenance note", () => {
    expect(readFileSync(join(SPEC_FIXTURES_DIR, "LICENSE"), "utf8")).toContain("Apache License");
    expect(readFileSync(join(SPEC_FIXTURES_DIR, "README.md"), "utf8")).toContain("matrix-org/matrix-spec");
  });
});

describe("validateCallEvent", () => {
  for (const type of CALL_EVENT_TYPES) {
    it(`accepts the spec's ${type} example`, () => {
      const ex = example(type);
      expect(ex.type).toBe(type);
      expect(validateCallEvent(ex.type, ex.content)).toEqual({ valid: true, errors: [] });
    });
  }

  it("accepts the sdp_stream_metadata_changed example despite its typo key, because StreamMetadata is open", () => {
    // Upstream typo: the key is "audio_muted:" (colon inside the quotes). The schema does not forbid additional
    // properties in a stream's metadata, so the example validates, but it does not actually set audio_muted.
    const metadata = example("m.call.sdp_stream_metadata_changed").content["sdp_stream_metadata"] as Record<
      string,
      Record<string, unknown>
    >;
    const stream = metadata["2311546231"];
    expect(stream).toHaveProperty(["audio_muted:"], true);
    expect(stream).not.toHaveProperty("audio_muted");
    // The typo is harmless to validation only because the value is a boolean under an unknown key; a wrongly typed
    // audio_muted under the real key is caught.
    const wrong = { ...example("m.call.sdp_stream_metadata_changed").content };
    wrong["sdp_stream_metadata"] = { s1: { purpose: "m.usermedia", audio_muted: "yes" } };
    expect(validateCallEvent("m.call.sdp_stream_metadata_changed", wrong).valid).toBe(false);
  });

  it("accepts a version 0 invite (integer 0, no party_id)", () => {
    const v0 = { call_id: "c1", version: 0, lifetime: 60000, offer: { type: "offer", sdp: SDP } };
    expect(validateCallEvent("m.call.invite", v0)).toEqual({ valid: true, errors: [] });
  });

  it("accepts a version 0 invite that carries a party_id anyway", () => {
    const v0 = { call_id: "c1", version: 0, party_id: "ABCDEFGH", lifetime: 60000, offer: { type: "offer", sdp: SDP } };
    expect(validateCallEvent("m.call.invite", v0).valid).toBe(true);
  });

  it('treats the string "0" as an ordinary version string: valid with party_id, invalid without', () => {
    // The schema's version is `type: string`, so "0" is allowed, but it is not the integer 0 the relaxation is for
    // (matrix-js-sdk also treats "0" as version 1), so party_id is required as for any string version.
    const base = { call_id: "c1", version: "0", lifetime: 60000, offer: { type: "offer", sdp: SDP } };
    expect(validateCallEvent("m.call.invite", { ...base, party_id: "ABCDEFGH" }).valid).toBe(true);
    const result = validateCallEvent("m.call.invite", base);
    expect(result.valid).toBe(false);
    expect(result.errors.join("\n")).toMatch(/party_id/);
  });

  it('rejects a version "1" invite without party_id', () => {
    const v1 = { call_id: "c1", version: "1", lifetime: 60000, offer: { type: "offer", sdp: SDP } };
    const result = validateCallEvent("m.call.invite", v1);
    expect(result.valid).toBe(false);
    expect(result.errors).toContain("content must have required property 'party_id'");
  });

  it("rejects a numeric version 1 (the schema says string)", () => {
    const content = { ...example("m.call.invite").content, version: 1 };
    expect(validateCallEvent("m.call.invite", content).valid).toBe(false);
  });

  it("rejects other integer versions than 0", () => {
    const content = { call_id: "c1", version: 2, lifetime: 60000, offer: { type: "offer", sdp: SDP } };
    expect(validateCallEvent("m.call.invite", content).valid).toBe(false);
  });

  it("rejects an invite without an offer", () => {
    const content = without(example("m.call.invite").content, "offer");
    const result = validateCallEvent("m.call.invite", content);
    expect(result.valid).toBe(false);
    expect(result.errors).toContain("content must have required property 'offer'");
  });

  it("rejects an invite without a lifetime, or with a fractional one", () => {
    const content = without(example("m.call.invite").content, "lifetime");
    expect(validateCallEvent("m.call.invite", content).valid).toBe(false);
    expect(validateCallEvent("m.call.invite", { ...content, lifetime: 1.5 }).valid).toBe(false);
  });

  it("rejects an invitee that is not a user ID", () => {
    const content = { ...example("m.call.invite").content, invitee: "alice:example.org" };
    expect(validateCallEvent("m.call.invite", content).valid).toBe(false);
    expect(validateCallEvent("m.call.invite", { ...content, invitee: "@alice:example.org" }).valid).toBe(true);
  });

  it('rejects an offer whose type is not "offer"', () => {
    const content = { ...example("m.call.invite").content, offer: { type: "answer", sdp: SDP } };
    const result = validateCallEvent("m.call.invite", content);
    expect(result.valid).toBe(false);
    expect(result.errors).toContain("content.offer.type must be equal to one of the allowed values (offer)");
  });

  it("rejects a hangup with a reason outside the enum", () => {
    const content = { ...example("m.call.hangup").content, reason: "bored" };
    const result = validateCallEvent("m.call.hangup", content);
    expect(result.valid).toBe(false);
    expect(result.errors.join("\n")).toMatch(/content\.reason must be equal to one of the allowed values \(ice_timeout,/);
  });

  it("requires a hangup reason, as the v1 schema does, also for version 0", () => {
    // The prose says receivers must read a missing reason as user_hangup; the schema requires it, and our bot
    // always sends one, so the validator keeps it required.
    const v1 = without(example("m.call.hangup").content, "reason");
    expect(validateCallEvent("m.call.hangup", v1).valid).toBe(false);
    expect(validateCallEvent("m.call.hangup", { call_id: "c1", version: 0 }).valid).toBe(false);
    expect(validateCallEvent("m.call.hangup", { call_id: "c1", version: 0, reason: "user_hangup" }).valid).toBe(true);
  });

  it("rejects candidates whose candidate is not a string", () => {
    const content = { ...example("m.call.candidates").content, candidates: [{ sdpMid: "0", sdpMLineIndex: 0, candidate: 42 }] };
    const result = validateCallEvent("m.call.candidates", content);
    expect(result.valid).toBe(false);
    expect(result.errors).toContain("content.candidates.0.candidate must be string");
  });

  it("accepts an end-of-candidates item without sdpMid/sdpMLineIndex", () => {
    const content = { ...example("m.call.candidates").content, candidates: [{ candidate: "" }] };
    expect(validateCallEvent("m.call.candidates", content).valid).toBe(true);
  });

  it("rejects stream metadata without a purpose or with an unknown one", () => {
    const base = example("m.call.answer").content;
    expect(validateCallEvent("m.call.answer", { ...base, sdp_stream_metadata: { s: {} } }).valid).toBe(false);
    expect(validateCallEvent("m.call.answer", { ...base, sdp_stream_metadata: { s: { purpose: "m.camera" } } }).valid).toBe(false);
  });

  it("rejects a select_answer without selected_party_id and a negotiate with a bad description type", () => {
    const select = without(example("m.call.select_answer").content, "selected_party_id");
    expect(validateCallEvent("m.call.select_answer", select).valid).toBe(false);
    const negotiate = { ...example("m.call.negotiate").content, description: { type: "pranswer", sdp: SDP } };
    expect(validateCallEvent("m.call.negotiate", negotiate).valid).toBe(false);
  });

  it("rejects content that misses the common call fields", () => {
    const result = validateCallEvent("m.call.reject", { version: "1", party_id: "p" });
    expect(result.valid).toBe(false);
    expect(result.errors).toContain("content must have required property 'call_id'");
    expect(validateCallEvent("m.call.reject", "not an object").valid).toBe(false);
  });

  it("rejects an unknown event type, and does not require the room-event envelope", () => {
    expect(validateCallEvent("m.call.ring", { call_id: "c", version: "1", party_id: "p" })).toEqual({
      valid: false,
      errors: ['unknown call event type "m.call.ring"'],
    });
    // No event_id, sender, origin_server_ts or room_id is needed: only type and content are validated.
    expect(validateCallEvent("m.call.reject", { call_id: "c", version: "1", party_id: "p" }).valid).toBe(true);
  });
});
