import type { Worker } from '../roster/roster';
import type { WebDeps } from './port';

/** A name matches by substring; PINs, ids and ID numbers only whole (a partial ID number is no match). */
export function workerMatches(worker: Worker, q: string): boolean {
  if (!q) return true;
  const needle = q.toLowerCase();
  const ids = worker.identities;
  return (
    worker.name.toLowerCase().includes(needle) ||
    worker.pin === q ||
    worker.id === q ||
    ids.sichuanUserId === q ||
    ids.deliUserId === q ||
    (ids.idCardNo !== undefined && ids.idCardNo.toUpperCase() === q.toUpperCase())
  );
}

/**
 * Workers whose name or identities match a search, for the worker list and the punch filter: the
 * query store's worker table answers (PIN, ids and ID number through its indexes); the roster is
 * walked only while the store cannot answer (still opening, or unavailable).
 */
export function searchWorkers(deps: WebDeps, q: string): Worker[] {
  if (!q) return [...deps.roster.list()];
  const ids = deps.punches.searchWorkers(q);
  if (!ids) return deps.roster.list().filter((w) => workerMatches(w, q));
  const found: Worker[] = [];
  for (const id of ids) {
    const worker = deps.roster.get(id);
    if (worker) found.push(worker);
  }
  return found;
}
