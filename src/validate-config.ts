/** `npm run validate-config [-- --config FILE]`: validates a configuration file without starting anything. */
import { ConfigError, loadConfigFile } from "./config/load.ts";

const argv = process.argv.slice(2);
const i = argv.indexOf("--config");
const file = (i >= 0 ? argv[i + 1] : argv.find((a) => !a.startsWith("-"))) ?? process.env["MCC_CONFIG"] ?? "config/config.yaml";
try {
  const config = loadConfigFile(file);
  process.stdout.write(`${file} is valid: ${config.cameras.length} camera(s): ${config.cameras.map((c) => c.name).join(", ")}\n`);
  process.exit(0);
} catch (err: unknown) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}
