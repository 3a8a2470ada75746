import { describe, expect, it } from "vitest";
import { SettledOnce } from "../../src/util/settled-once.ts";

describe("SettledOnce", () => {
  it("keeps the first value, for readers now and for those waiting", async () => {
    const end = new SettledOnce<string>();
    expect(end.value).toBeUndefined();
    const waited = end.done;
    expect(end.set("the LiveKit process was killed (SIGKILL)")).toBe(true);
    expect(end.set("stopped")).toBe(false);
    expect(end.value).toBe("the LiveKit process was killed (SIGKILL)");
    await expect(waited).resolves.toBe("the LiveKit process was killed (SIGKILL)");
  });

  it("counts a falsy first value as settled", () => {
    const end = new SettledOnce<string>();
    expect(end.set("")).toBe(true);
    expect(end.set("later")).toBe(false);
    expect(end.value).toBe("");
  });
});
