// Counts the requests and upgraded connections (WebSockets) under way, so a stop or a reload can
// wait for them to finish, and cut the upgraded ones when the grace period is over.

import type { Duplex } from 'node:stream';

export class InFlight {
  count = 0;
  private readonly upgraded = new Set<Duplex>();
  private onIdle: (() => void) | undefined;

  enter(): void {
    this.count++;
  }

  leave(): void {
    this.count--;
    if (this.count === 0 && this.onIdle) {
      const idle = this.onIdle;
      this.onIdle = undefined;
      idle();
    }
  }

  /** An upgraded connection: counted until it closes. */
  enterUpgraded(socket: Duplex): void {
    this.enter();
    this.upgraded.add(socket);
    socket.once('close', () => {
      this.upgraded.delete(socket);
      this.leave();
    });
  }

  /** True once nothing is in flight; false when `graceMs` ran out first (upgraded connections are then cut). */
  idle(graceMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onIdle = undefined;
        for (const socket of this.upgraded) socket.destroy();
        resolve(false);
      }, graceMs);
      this.onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}
