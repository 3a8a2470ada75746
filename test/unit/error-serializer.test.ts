/** Errors reach the log as objects: type, message, stack, code, context and cause, every string redacted. */
import { afterEach, describe, expect, it } from "vitest";
import { AppError, createLogger, serializeError } from "../../src/util/logger.ts";
import { addSecret, clearSecrets } from "../../src/util/redact.ts";

function logged(err: unknown): Record<string, unknown> {
  const raw: string[] = [];
  const log = createLogger({ level: "info", destination: { write: (s: string) => void raw.push(s) } });
  log.warn({ err }, "something failed");
  expect(raw).toHaveLength(1);
  const line: unknown = JSON.parse(raw[0] ?? "");
  if (typeof line !== "object" || line === null) throw new Error("not a JSON object");
  const errField = (line as Record<string, unknown>)["err"];
  if (typeof errField !== "object" || errField === null) throw new Error(`err is ${JSON.stringify(errField)}`);
  return errField as Record<string, unknown>;
}

afterEach(() => {
  clearSecrets();
});

describe("the logger's error serializer", () => {
  it("keeps the type, the stack and the context, and redacts camera credentials in each", () => {
    addSecret("hunter2-door");
    const cause = Object.assign(new Error("connect ECONNREFUSED rtsp://admin:hunter2-door@10.0.0.2/x"), { code: "ECONNREFUSED" });
    const err = new AppError(
      "the camera refused the backchannel",
      { camera: "frontdoor", status: 453, url: "rtsp://admin:hunter2-door@10.0.0.2/x" },
      { cause },
    );
    const out = logged(err);
    expect(out["type"]).toBe("AppError");
    expect(out["message"]).toBe("the camera refused the backchannel");
    expect(String(out["stack"])).toMatch(/error-serializer\.test\.ts/);
    expect(out["context"]).toEqual({ camera: "frontdoor", status: 453, url: "rtsp://***@10.0.0.2/x" });
    expect(out["cause"]).toMatchObject({ type: "Error", code: "ECONNREFUSED", message: "connect ECONNREFUSED rtsp://***@10.0.0.2/x" });
    expect(JSON.stringify(out)).not.toContain("hunter2");
  });

  it("takes anything thrown, not only Errors", () => {
    expect(logged("plain string with rtsp://u:pw1234@cam/x")).toEqual({ type: "string", message: "plain string with rtsp://***@cam/x" });
    expect(logged(42)).toEqual({ type: "number", message: "42" });
  });

  it("cuts a cyclic cause chain instead of hanging", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    Object.defineProperty(a, "cause", { value: b });
    let depth = 0;
    for (let e = serializeError(a); e.cause !== undefined; e = e.cause) depth += 1;
    expect(depth).toBe(4);
  });
});
