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

/**
 * Who may use which camera: allowed by the global list and, where a camera has its own `allowedUsers`
 * (same entries: @user:server or *:server), by that list too. A camera without one is open to everyone
 * the global list allows.
 */
export class CameraAccess {
  private readonly perCamera = new Map<string, AccessList>();

  constructor(
    private readonly global: AccessList,
    cameras: readonly { name: string; allowedUsers?: readonly string[] | undefined }[],
  ) {
    for (const c of cameras) if (c.allowedUsers !== undefined) this.perCamera.set(c.name, new AccessList(c.allowedUsers));
  }

  allows(userId: string, camera: string): boolean {
    return this.global.allows(userId) && (this.perCamera.get(camera)?.allows(userId) ?? true);
  }

  /** The cameras of `cameras` that `userId` may use, in their order. */
  camerasFor<T extends { name: string }>(userId: string, cameras: readonly T[]): T[] {
    return cameras.filter((c) => this.allows(userId, c.name));
  }
}
