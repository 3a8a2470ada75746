/** The allowlist: full user IDs, or "*:server" for every user of a server. */
export class AccessList {
  private readonly users = new Set<string>();
  private readonly servers = new Set<string>();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      if (entry.startsWith("*:")) this.servers.add(entry.slice(2).toLowerCase());
      else this.users.add(entry);
    }
  }

  allows(userId: string): boolean {
    if (this.users.has(userId)) return true;
    const colon = userId.indexOf(":");
    if (!userId.startsWith("@") || colon < 2) return false;
    return this.servers.has(userId.slice(colon + 1).toLowerCase());
  }
}
