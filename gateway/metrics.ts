import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Every Prometheus metric the gateway exports, on its own registry (no global state between tests). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly punchesJournaled = new Counter({
    name: 'edge_gateway_punches_journaled_total',
    help: 'Punches appended to the journal',
    labelNames: ['terminal'] as const,
    registers: [this.registry],
  });
  readonly punchesDuplicate = new Counter({
    name: 'edge_gateway_punches_duplicate_total',
    help: 'Punches recognised as already journaled (realtime and catch-up overlap, resends)',
    labelNames: ['terminal'] as const,
    registers: [this.registry],
  });
  readonly punchesFlagged = new Counter({
    name: 'edge_gateway_punches_flagged_total',
    help: 'Journaled punches carrying a flag (unmatched PIN, removed worker, …)',
    labelNames: ['terminal', 'flag'] as const,
    registers: [this.registry],
  });
  readonly delivered = new Counter({
    name: 'edge_gateway_upstream_delivered_total',
    help: 'Punches acknowledged by an upstream platform',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly deliveryFailures = new Counter({
    name: 'edge_gateway_upstream_delivery_failures_total',
    help: 'Delivery attempts that were not fully acknowledged',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly backlog = new Gauge({
    name: 'edge_gateway_upstream_backlog',
    help: 'Journaled punches not yet acknowledged by the upstream',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly terminalOnline = new Gauge({
    name: 'edge_gateway_terminal_online',
    help: '1 when the gateway is connected to the terminal',
    labelNames: ['terminal'] as const,
    registers: [this.registry],
  });
  readonly journalLastSeq = new Gauge({
    name: 'edge_gateway_journal_last_seq',
    help: 'Highest durable journal sequence number',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'edge_gateway_' });
  }
}
