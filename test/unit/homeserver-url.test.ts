/** I2: plain http:// to another machine sends the access token in cleartext; the bot warns at startup. */
import { describe, expect, it } from "vitest";
import { cleartextToRemote } from "../../src/matrix/client.ts";

describe("cleartextToRemote", () => {
  it("is true for http:// to another host, by name or address", () => {
    for (const url of [
      "http://matrix.example.org",
      "http://192.168.1.2:8008",
      "http://10.0.0.1",
      "http://[fd00::1]:8008",
      "HTTP://Matrix.Example.org/",
    ]) {
      expect(cleartextToRemote(url), url).toBe(true);
    }
  });

  it("is false for https:// and for loopback over http://", () => {
    for (const url of [
      "https://matrix.example.org",
      "https://127.0.0.1:8448",
      "http://127.0.0.1:8008",
      "http://127.1.2.3",
      "http://localhost:8008",
      "http://synapse.localhost",
      "http://[::1]:8008",
    ]) {
      expect(cleartextToRemote(url), url).toBe(false);
    }
  });
});
