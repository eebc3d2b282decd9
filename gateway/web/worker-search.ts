import type { Worker } from '../roster/roster';
import type { WebDeps } from './deps';

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

/** Workers whose name or identities match a search, for the worker list and the punch filter. */
export function searchWorkers(deps: WebDeps, q: string): Worker[] {
  return deps.roster.list().filter((w) => workerMatches(w, q));
}
