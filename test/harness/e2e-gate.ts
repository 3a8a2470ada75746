/**
 * End-to-end files that need a real Synapse gate their tests on what it needs: root (chroot, mounting /proc in it) and
 * the Synapse tree that scripts/provision-synapse-root.sh builds. Where either is missing the file's tests are skipped
 * with one line saying why, instead of every file failing in its beforeAll. (File-level beforeAll/afterAll hooks do not
 * run when all of a file's tests are skipped, so a file only needs `describeE2E` in place of `describe`.)
 */
import { describe } from "vitest";
import { isRoot, isSynapseRootProvisioned, synapseRoot } from "../../src/dev/local-synapse.ts";

/** Why end-to-end tests with Synapse cannot run here, or undefined when they can. */
export function e2eUnavailable(): string | undefined {
  if (!isRoot()) return "needs root (Synapse runs in a chroot)";
  if (!isSynapseRootProvisioned()) return `needs the Synapse tree at ${synapseRoot()} (scripts/provision-synapse-root.sh)`;
  return undefined;
}

/** Each test file gets its own copy of this module (vitest isolates files), so this is one line per file. */
let reported = false;

/**
 * `describe` when Synapse can run here; otherwise `describe.skip`, after one line on stderr naming the reason.
 * `otherReason` skips for a reason of the file's own (a missing LiveKit binary, a suite run on request only).
 */
export function describeE2E(name: string, fn: () => void, otherReason?: string): void {
  const reason = e2eUnavailable() ?? otherReason;
  if (reason === undefined) {
    describe(name, fn);
    return;
  }
  if (!reported) process.stderr.write(`skipped end-to-end tests "${name}": ${reason}\n`);
  reported = true;
  describe.skip(`${name} (skipped: ${reason})`, fn);
}
