import { EventEmitter } from 'node:events';
import type { Punch, UpgradeOffer } from './model';

/** Everything parts tell each other. Parts never reach into each other's internals. */
export interface GatewayEvents {
  'punches.journaled': [punches: readonly Punch[]];
  'terminal.online': [terminalId: string, online: boolean];
  /**
   * The first catch-up read after a (re)connect has ended, whatever its outcome: the terminal's
   * link is free for other work. Punches come first after an outage; roster writes wait for this.
   */
  'terminal.caughtUp': [terminalId: string];
  'terminal.error': [terminalId: string, message: string];
  'roster.changed': [workerIds: readonly string[]];
  'upgrade.offered': [offer: UpgradeOffer];
  'config.changed': [];
  /** The health report's alerts changed (gateway/fleet/alert-watch.ts): what was raised and cleared. */
  'alerts.changed': [change: AlertsChange];
}

export interface AlertsChange {
  readonly raised: readonly string[];
  readonly cleared: readonly string[];
  /** Every alert now, one line per alert. */
  readonly alerts: readonly string[];
}

/** A typed facade over EventEmitter; listener errors are the listener's to handle. */
export class EventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  on<K extends keyof GatewayEvents>(event: K, listener: (...args: GatewayEvents[K]) => void): () => void {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return () => this.emitter.off(event, listener as (...args: unknown[]) => void);
  }

  emit<K extends keyof GatewayEvents>(event: K, ...args: GatewayEvents[K]): void {
    this.emitter.emit(event, ...args);
  }
}
