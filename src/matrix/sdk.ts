/**
 * Loads matrix-bot-sdk. The SDK requires its end-to-end-encryption native library
 * (@matrix-org/matrix-sdk-crypto-nodejs) at import time, and that library's binary comes from a
 * download outside the npm registry that an offline install cannot make. Where the library loads,
 * it is used as is (E2EE stays possible); where it does not, a stand-in whose members throw only
 * when used is put in the require cache first, so the SDK imports and works without E2EE.
 */
import { createRequire, Module } from "node:module";
import type * as BotSdk from "matrix-bot-sdk";

const load = createRequire(import.meta.url);
const CRYPTO_PACKAGE = "@matrix-org/matrix-sdk-crypto-nodejs";

export interface LoadedSdk {
  sdk: typeof BotSdk;
  /** Whether the E2EE native library is present. */
  cryptoAvailable: boolean;
  /** Why it is not, when it is not. */
  cryptoError: string | undefined;
}

let loaded: LoadedSdk | undefined;
const STAND_IN = Symbol.for("matrix-camera-call.crypto-stand-in");

function unavailable(reason: string): unknown {
  const fail = (): never => {
    throw new Error(`end-to-end encryption is unavailable: ${reason}`);
  };
  const member: unknown = new Proxy(fail, {
    apply: fail,
    construct: fail,
    get: (_target, prop) => (prop === Symbol.toPrimitive || prop === "then" ? undefined : member),
  });
  return new Proxy(
    {},
    {
      get: (_target, prop) => {
        if (prop === "__esModule") return true;
        if (typeof prop === "symbol" || prop === "then") return undefined;
        return member;
      },
    },
  );
}

export function loadBotSdk(): LoadedSdk {
  if (loaded) return loaded;
  let cryptoError: string | undefined;
  const marks = globalThis as Record<symbol, unknown>;
  const previous = marks[STAND_IN];
  try {
    // A stand-in put in the require cache by an earlier instance of this module (vitest re-evaluates ES modules
    // per test file but shares the CommonJS cache) must not be mistaken for the real library.
    if (typeof previous === "string") throw new Error(previous);
    load(CRYPTO_PACKAGE);
  } catch (err: unknown) {
    cryptoError = err instanceof Error ? (err.message.split("\n")[0] ?? err.message) : String(err);
    const resolved = load.resolve(CRYPTO_PACKAGE);
    const stand_in = new Module(resolved);
    stand_in.filename = resolved;
    stand_in.loaded = true;
    stand_in.exports = unavailable(cryptoError);
    load.cache[resolved] = stand_in;
    marks[STAND_IN] = cryptoError;
  }
  const sdk = load("matrix-bot-sdk") as typeof BotSdk;
  loaded = { sdk, cryptoAvailable: cryptoError === undefined, cryptoError };
  return loaded;
}
