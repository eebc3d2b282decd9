import type { TerminalCapabilities } from '../model';
import { digestRecipe, workerDigest } from './reconcile-plan';
import type { Worker } from './roster';

/**
 * Every worker's digest per recipe (`digestRecipe`), shared by all reconcilers: at start 20 ZK
 * terminals with 5,000 workers each plan a pass, and without this each pass hashes the whole
 * roster again (100,000 sha256 on the event loop the terminals' links share). The roster mutates
 * its workers in place, so an entry is dropped when the roster says the worker changed
 * (`roster.changed`, which every change emits once it is durable); the next pass works it out
 * again. Keyed by the worker object itself, so a worker the roster no longer holds is let go.
 */
export class WorkerDigests {
  private readonly byRecipe = new Map<string, WeakMap<Worker, string>>();

  constructor(private readonly compute: typeof workerDigest = workerDigest) {}

  of(worker: Worker, capabilities: TerminalCapabilities): string {
    const recipe = digestRecipe(capabilities);
    let known = this.byRecipe.get(recipe);
    if (!known) {
      known = new WeakMap();
      this.byRecipe.set(recipe, known);
    }
    let digest = known.get(worker);
    if (digest === undefined) {
      digest = this.compute(worker, capabilities);
      known.set(worker, digest);
    }
    return digest;
  }

  /** The workers changed: their digests are worked out afresh when next asked for. */
  forget(workers: Iterable<Worker | undefined>): void {
    for (const worker of workers) {
      if (!worker) continue;
      for (const known of this.byRecipe.values()) known.delete(worker);
    }
  }
}
