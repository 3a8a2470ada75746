import { defineConfig } from "vitest/config";

/**
 * The load and leak runs (test/e2e/soak*.test.ts, about 11 to 13 minutes on 2 cores) are part of `npm test` and CI; MCC_SOAK=0 leaves
 * them out (`npm run test:quick`), `npm run test:soak` runs only them.
 */
const soak = process.env["MCC_SOAK"] !== "0";

const e2e = {
  environment: "node",
  pool: "forks",
  // The end-to-end files share two cores with Synapse, GStreamer and ffmpeg: one at a time, each in a fresh process.
  // Not one process for all (singleFork): globals a file installs leak into the next. matrix-js-sdk's callee needs
  // `window` and `document` (test/harness/webrtc-env.ts), and the mqtt package, first loaded after them, took itself
  // for a browser and never connected: every MQTT file after matrixrtc-call.test.ts failed (found 2026-12-01).
  fileParallelism: false,
  isolate: true,
  testTimeout: 120_000,
  hookTimeout: 180_000,
} as const;

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          // Above waitFor's 15 s, so a slow wait fails saying what it waited for. Vitest's 5 s was too short for the
          // unit files on real wrtc beside the fuzzers: a fresh-clone CI of 80042bc timed out a ringing call's
          // candidate test there (alone it takes well under a second).
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          // In the same project as the other end-to-end files, so they never run beside them.
          exclude: soak ? [] : ["test/e2e/soak*.test.ts"],
          // After the unit files, never beside them: a fresh-clone CI (2026-12-02, afternoon) ran the unit files
          // (fuzzers, wrtc encoders, worker threads on both cores) through the e2e run, and the soak's 8 calls fell to
          // 11 fps (floor 13.5) and a legacy call had no frame in 15 s; alone, both pass.
          sequence: { groupOrder: 1 },
          ...e2e,
        },
      },
    ],
  },
});
