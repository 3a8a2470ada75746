/**
 * The config types come from the zod schema (z.infer): the checks here are made by the type checker (`npm run lint`
 * runs tsc over the tests), and at run time only show the values agree.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import type { CameraConfig, Config } from "../../src/config/load.ts";
import { hwaccelSchema, type HwAccel, type RawConfig } from "../../src/config/schema.ts";
import type { CameraArgsOptions } from "../../src/media/ffmpeg-args.ts";

describe("config types", () => {
  it("hwaccel is one list: the schema's, and the ffmpeg arguments take exactly it", () => {
    expectTypeOf<NonNullable<CameraArgsOptions["hwaccel"]>>().toEqualTypeOf<HwAccel>();
    expectTypeOf<CameraConfig["hwaccel"]>().toEqualTypeOf<HwAccel>();
    expect(hwaccelSchema.options).toEqual(["none", "auto", "vaapi", "cuda", "qsv"]);
  });

  it("Config is the schema's type with the secrets resolved", () => {
    expectTypeOf<Config["calls"]>().toEqualTypeOf<RawConfig["calls"]>();
    // The budget is resolved: a number always, and whether it was left to the default (then it follows the speed).
    expectTypeOf<Omit<Config["media"], "encodeMegapixelsPerCore" | "encodeBudgetFollowsSpeed">>().toEqualTypeOf<
      Omit<RawConfig["media"], "encodeMegapixelsPerCore">
    >();
    expectTypeOf<Config["media"]["encodeMegapixelsPerCore"]>().toEqualTypeOf<number>();
    expectTypeOf<RawConfig["media"]["encodeMegapixelsPerCore"]>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Config["homeserver"]["accessToken"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Config["cameras"][number]["url"]>().toEqualTypeOf<string>();
    expectTypeOf<Config["homeserver"]>().not.toHaveProperty("accessTokenFile");
  });
});
