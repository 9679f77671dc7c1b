// What the mirror knows about how far behind it is. Pure: time comes from an
// injected clock, updates come from the feed follower.
export interface SyncSnapshot {
  cursor: number;
  epoch: number;
  head: number;
  lagSeconds: number;
  connected: boolean;
  source: string | null;
  lastError: string | null;
}

export class SyncStatus {
  private head = 0;
  private behindSince: number | undefined;
  private source: string | null = null;
  private lastError: string | null = null;
  private connected = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** A hello or batch announced that the feed has reached `head`. */
  sawHead(head: number, cursor: number, source: string): void {
    this.connected = true;
    this.source = source;
    if (head > this.head) this.head = head;
    if (this.head > cursor && this.behindSince === undefined) this.behindSince = this.now();
  }

  applied(cursor: number): void {
    this.lastError = null;
    if (cursor >= this.head) this.behindSince = undefined;
  }

  failed(error: Error): void {
    this.connected = false;
    this.lastError = error.message;
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** Seconds since the mirror first knew of an entry it has not applied yet; 0 when caught up. */
  lagSeconds(): number {
    return this.behindSince === undefined ? 0 : Math.max(0, (this.now() - this.behindSince) / 1000);
  }

  snapshot(cursor: number, epoch: number): SyncSnapshot {
    return {
      cursor,
      epoch,
      head: Math.max(this.head, cursor),
      lagSeconds: this.lagSeconds(),
      connected: this.connected,
      source: this.source,
      lastError: this.lastError,
    };
  }
}
