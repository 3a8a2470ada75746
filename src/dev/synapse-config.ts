/**
 * The homeserver.yaml of the local Synapse (src/dev/local-synapse.ts): Synapse's generated config with one client
 * listener on 127.0.0.1, sqlite, registration only by shared secret, rate limits a test or demo never reaches, and
 * optionally TURN.
 */

/** TURN for the local Synapse: its /voip/turnServer then hands out credentials for these URIs. */
export interface SynapseTurn {
  uris: string[];
  sharedSecret: string;
  userLifetimeMs?: number;
}

const RATE_LIMIT = { per_second: 1000, burst_count: 1000 };

/** Synapse's Python logging config: everything at INFO to stderr, which goes to logPath. */
export const LOG_CONFIG = {
  version: 1,
  formatters: {
    precise: { format: "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s" },
  },
  handlers: {
    console: { class: "logging.StreamHandler", formatter: "precise", stream: "ext://sys.stderr" },
  },
  loggers: { "synapse.storage.SQL": { level: "INFO" } },
  root: { level: "INFO", handlers: ["console"] },
  disable_existing_loggers: false,
};

export function patchConfig(
  config: Record<string, unknown>,
  params: {
    port: number;
    dataDir: string;
    sharedSecret: string;
    turn: SynapseTurn | undefined;
    extraConfig?: Record<string, unknown> | undefined;
  },
): Record<string, unknown> {
  const patched: Record<string, unknown> = {
    ...config,
    listeners: [
      {
        port: params.port,
        bind_addresses: ["127.0.0.1"],
        type: "http",
        tls: false,
        x_forwarded: false,
        // openid: /_matrix/federation/v1/openid/userinfo, where a MatrixRTC token service checks OpenID tokens.
        resources: [{ names: ["client", "openid"], compress: false }],
      },
    ],
    public_baseurl: `http://127.0.0.1:${params.port}/`,
    database: { name: "sqlite3", args: { database: `${params.dataDir}/homeserver.db` } },
    log_config: `${params.dataDir}/log.config`,
    report_stats: false,
    registration_shared_secret: params.sharedSecret,
    enable_registration: false,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    presence: { enabled: false },
    url_preview_enabled: false,
    rc_message: RATE_LIMIT,
    rc_registration: RATE_LIMIT,
    rc_registration_token_validity: RATE_LIMIT,
    rc_login: { address: RATE_LIMIT, account: RATE_LIMIT, failed_attempts: RATE_LIMIT },
    rc_admin_redaction: RATE_LIMIT,
    rc_joins: { local: RATE_LIMIT, remote: RATE_LIMIT },
    rc_joins_per_room: RATE_LIMIT,
    rc_3pid_validation: RATE_LIMIT,
    rc_invites: { per_room: RATE_LIMIT, per_user: RATE_LIMIT, per_issuer: RATE_LIMIT },
    rc_third_party_invite: RATE_LIMIT,
    rc_media_create: RATE_LIMIT,
    rc_presence: { per_user: RATE_LIMIT },
    rc_delayed_event_mgmt: RATE_LIMIT,
    // Delayed events (MSC4140): a MatrixRTC member's leave scheduled on the homeserver, so a crashed bot leaves no
    // ghost member. Synapse offers them only with a maximum delay set; Element Call's is 8 s (js-sdk defaults).
    max_event_delay_duration: "24h",
    rc_room_creation: RATE_LIMIT,
    rc_reports: RATE_LIMIT,
    rc_user_directory: RATE_LIMIT,
    rc_key_requests: RATE_LIMIT,
  };
  if (params.turn !== undefined) {
    patched["turn_uris"] = params.turn.uris;
    patched["turn_shared_secret"] = params.turn.sharedSecret;
    patched["turn_user_lifetime"] = params.turn.userLifetimeMs ?? 86_400_000;
    patched["turn_allow_guests"] = true;
  }
  Object.assign(patched, params.extraConfig ?? {});
  return patched;
}
