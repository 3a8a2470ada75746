/**
 * What every `doctor` check returns (a verdict, a detail and, when something is wrong, how to fix it) and how long a
 * check waits for an answer from the network or a child process. Shared by the check files beside it
 * (homeserver.ts, media.ts, mqtt.ts), with no code of its own, so they import it without importing each other.
 */
export type Status = "pass" | "warn" | "fail";

export interface CheckResult {
  name: string;
  status: Status;
  detail: string;
  fix?: string;
}

export const TIMEOUT_MS = 8000;
