/** `npm run doctor [-- --config FILE] [--json]`: checks the setup and says how to fix what is wrong. */
import { exitCodeOf, formatReport, runDoctor } from "./doctor/run.ts";
import { redactSecrets } from "./util/redact.ts";

const argv = process.argv.slice(2);
const i = argv.indexOf("--config");
const file = (i >= 0 ? argv[i + 1] : undefined) ?? process.env["MCC_CONFIG"] ?? "config/config.yaml";
const results = await runDoctor(file);
const report = argv.includes("--json")
  ? `${JSON.stringify({ ok: exitCodeOf(results) === 0, checks: results }, null, 2)}\n`
  : formatReport(results);
// Every secret value of the configuration (and URL credentials) removed, whatever check printed it.
process.stdout.write(redactSecrets(report));
process.exit(exitCodeOf(results));
