export type BodyAdmission =
  | { admitted: true; release: () => void }
  | { admitted: false; reason: 'client_limit' | 'backend_busy' };

/**
 * Counts the upload bodies in flight to one backend, in all and per client address, so that one
 * client (or a crowd of slow ones) cannot take every body connection (downloads use a second one,
 * per address only). A body over the limit is
 * refused at once rather than queued: a queued body would sit in the client's socket, unread.
 */
export class BodyLimiter {
  private inFlight = 0;
  /** Only addresses with a body in flight are kept, so the map stays as small as the load. */
  private readonly perClient = new Map<string, number>();
  private readonly total: number;
  private readonly perClientLimit: number;

  constructor(limits: { total: number; perClient: number }) {
    this.total = limits.total;
    this.perClientLimit = limits.perClient;
  }

  admit(client: string): BodyAdmission {
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.perClientLimit) return { admitted: false, reason: 'client_limit' };
    if (this.inFlight >= this.total) return { admitted: false, reason: 'backend_busy' };
    this.inFlight++;
    this.perClient.set(client, held + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        const left = (this.perClient.get(client) ?? 1) - 1;
        if (left === 0) this.perClient.delete(client);
        else this.perClient.set(client, left);
      },
    };
  }

  get bodiesInFlight(): number {
    return this.inFlight;
  }
}
