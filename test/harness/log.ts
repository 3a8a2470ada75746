import { pino } from "pino";

/** Logger for test harnesses (the project forbids console.*). Level from TEST_LOG_LEVEL, default warn. */
export const harnessLog = pino({ name: "test-harness", level: process.env["TEST_LOG_LEVEL"] ?? "warn" });
