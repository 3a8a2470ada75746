/** `npm run doctor [-- --config FILE] [--json]`: checks the setup and says how to fix what is wrong. */
import { exitCodeOf, formatReport, runDoctor } from "./doctor/run.ts";

const argv = process.argv.slice(2);
const i = argv.indexOf("--config");
const file = (i >= 0 ? argv[i + 1] : undefined) ?? process.env["MCC_CONFIG"] ?? "config/config.yaml";
const results = await runDoctor(file);
process.stdout.write(argv.includes("--json") ? `${JSON.stringify({ ok: exitCodeOf(results) === 0, checks: results }, null, 2)}\n` : formatReport(results));
process.exit(exitCodeOf(results));
