import { defineConfig } from "vitest/config";

/** Long load and leak runs (test/e2e/soak*.test.ts): only with MCC_SOAK=1 (`npm run test:soak`). */
const soak = process.env["MCC_SOAK"] === "1";

const e2e = {
  environment: "node",
  pool: "forks",
  // The end-to-end files share two cores with Synapse, GStreamer and ffmpeg: one at a time.
  poolOptions: { forks: { singleFork: true } },
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
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          exclude: ["test/e2e/soak*.test.ts"],
          ...e2e,
        },
      },
      ...(soak
        ? [
            {
              test: {
                name: "soak",
                include: ["test/e2e/soak*.test.ts"],
                ...e2e,
                testTimeout: 900_000,
              },
            },
          ]
        : []),
    ],
  },
});
