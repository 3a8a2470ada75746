/**
 * The environment of ffmpeg, ffprobe and gst-launch-1.0 children: only what they need, never the bot's own variables
 * (MCC_ACCESS_TOKEN, MCC_PASSWORD, MCC_WEBHOOK_TOKEN, camera passwords given as ${ENV}). ffmpeg parses
 * untrusted camera input; what it does not hold it cannot leak.
 */

/** Names passed through as they are: the search path, locale and time zone, temp dir, and what libraries read. */
const PASS = new Set([
  "PATH",
  "HOME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "LD_LIBRARY_PATH",
  "XDG_RUNTIME_DIR",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
]);
/**
 * Prefixes passed through: locale (LC_ALL...), VA-API and CUDA driver selection for hwaccel, fontconfig for drawtext,
 * GStreamer's plugin search path and registry file (GST_PLUGIN_PATH, GST_PLUGIN_SYSTEM_PATH, GST_REGISTRY...).
 */
const PASS_PREFIXES = ["LC_", "LIBVA_", "CUDA_", "NVIDIA_", "FONTCONFIG_", "GST_PLUGIN_", "GST_REGISTRY"];

/**
 * gst-launch-1.0's environment: childEnv in the C locale. GStreamer translates its messages, and the front end reads
 * them (gst-front-end.ts: a missing plugin, a camera that closed the connection); under LANG=de_DE.UTF-8 they would
 * not match and a missing plugin would be retried for ever instead of falling back to ffmpeg.
 */
export function gstEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept = Object.entries(childEnv(env)).filter(([name]) => name !== "LANGUAGE" && !name.startsWith("LC_"));
  return { ...Object.fromEntries(kept), LC_ALL: "C" };
}

export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (PASS.has(name) || PASS_PREFIXES.some((p) => name.startsWith(p))) out[name] = value;
  }
  return out;
}
