/**
 * Getting the demo a local homeserver it may use: root, and the Synapse chroot, built the first time by
 * scripts/provision-synapse-root.sh (about 2 minutes, output to data/demo/provision.log). When that cannot be had,
 * the message says how to fix it or how to use an existing homeserver instead. Apart from demo.ts because it is
 * the one-time setup, not the demo's run.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DemoError } from "./demo-state.ts";
import { DEFAULT_SYNAPSE_ROOT, isRoot, isSynapseRootProvisioned, synapseRoot } from "./local-synapse.ts";

/** What to do when the local homeserver cannot be had: use an existing one through config/config.yaml. */
export const EXISTING_HOMESERVER_HINT = [
  "To use an existing homeserver instead: create an account for the bot there, copy",
  "config/config.example.yaml to config/config.yaml, set homeserver.url, the bot's access token",
  "(or user and password), allowedUsers and cameras (keep the `demo://clock` camera to try it",
  "without hardware), then run `npm start`.",
].join("\n");

function runScript(script: string, args: string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile("bash", [script, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      writeFileSync(logFile, `${stdout}${stderr}`);
      if (err)
        reject(
          new Error(
            `${path.basename(script)} failed (${err.message.split("\n")[0] ?? ""}); its output is in ${logFile}:\n${stderr.trimEnd().split("\n").slice(-15).join("\n")}`,
          ),
        );
      else resolve();
    });
    child.stdin?.end();
  });
}

export function notRootMessage(root: string): string {
  return [
    isSynapseRootProvisioned(root)
      ? `The demo runs a local Matrix homeserver (Synapse) in the chroot ${root}, which needs root`
      : `The demo runs a local Matrix homeserver (Synapse) in a chroot that is not set up yet (${root}); setting it up and running it need root`,
    "(chroot, and mounting /proc in it): run it as root, e.g. `sudo npm run demo`.",
    "",
    EXISTING_HOMESERVER_HINT,
  ].join("\n");
}

/** Makes sure the Synapse chroot exists (building it the first time), and that we may use it. */
export async function ensureSynapseRoot(dataDir: string, say: (text: string) => void): Promise<string> {
  const root = synapseRoot();
  if (!isRoot()) throw new DemoError(notRootMessage(root));
  if (isSynapseRootProvisioned(root)) return root;
  const script = fileURLToPath(new URL("../../scripts/provision-synapse-root.sh", import.meta.url));
  const logFile = path.join(dataDir, "provision.log");
  say(
    [
      `Setting up the local Matrix homeserver (Synapse) in ${root}.`,
      "This happens once and takes about 2 minutes: it needs root, network access and debootstrap",
      `(installed with apt-get when missing). Progress goes to ${logFile}.`,
    ].join("\n"),
  );
  const t0 = Date.now();
  try {
    await runScript(script, root === DEFAULT_SYNAPSE_ROOT ? [] : [root], logFile);
  } catch (err: unknown) {
    throw new DemoError(
      [`Could not set up Synapse: ${err instanceof Error ? err.message : String(err)}`, "", EXISTING_HOMESERVER_HINT].join("\n"),
    );
  }
  if (!isSynapseRootProvisioned(root))
    throw new DemoError(`Setting up Synapse finished but ${root} is still not ready; see ${logFile}.\n\n${EXISTING_HOMESERVER_HINT}`);
  say(`Synapse is set up (${Math.round((Date.now() - t0) / 1000)} s).`);
  return root;
}
