/**
 * Bundles the callee page (page/callee-page.ts with matrix-js-sdk 43 and livekit-client) with esbuild, once per
 * process, and serves it on 127.0.0.1 so the page is a secure context (getUserMedia needs one; http://127.0.0.1
 * counts as one, about:blank and file:// do not reliably).
 */
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { freePort } from "../../../src/dev/ports.ts";

const ENTRY = fileURLToPath(new URL("./page/callee-page.ts", import.meta.url));
const HTML =
  "<!doctype html><html><head><meta charset=utf-8><title>callee</title></head><body><script type=module src=/callee.js></script></body></html>";

let bundled: Promise<{ js: string; ms: number }> | undefined;

/** The page's JavaScript, built once per process (about 2-4 s here), and how long the build took. */
export function bundlePage(): Promise<{ js: string; ms: number }> {
  bundled ??= (async () => {
    const started = performance.now();
    const result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "chrome120",
      write: false,
      minify: false,
      sourcemap: false,
      logLevel: "silent",
      define: { "process.env.NODE_ENV": '"production"', global: "globalThis" },
    });
    const out = result.outputFiles[0];
    if (out === undefined) throw new Error("esbuild produced no output for the callee page");
    return { js: out.text, ms: Math.round(performance.now() - started) };
  })();
  return bundled;
}

export interface PageServer {
  /** http://127.0.0.1:PORT/ — the callee page. */
  url: string;
  stop(): Promise<void>;
}

export async function startPageServer(): Promise<PageServer> {
  const { js } = await bundlePage();
  const server: Server = createServer((req, res) => {
    if (req.url === "/") res.writeHead(200, { "content-type": "text/html" }).end(HTML);
    else if (req.url === "/callee.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    else res.writeHead(404).end();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
