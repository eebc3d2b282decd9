import { insideSince } from '../query/punch-query';
import type { WebDeps } from './port';

/**
 * Who is inside now, by the one rule the dashboard, the workers list and the muster list share:
 * the last punch is an entry within the night-shift window (`insideSince`).
 */
export function onSiteSinceMs(deps: Pick<WebDeps, 'nightShiftHours'>, nowMs: number): number {
  return insideSince(nowMs, deps.nightShiftHours);
}

/** The ids of the workers inside now (the dashboard's figure is their number). */
export function onSiteNow(deps: Pick<WebDeps, 'punches' | 'nightShiftHours'>, nowMs = Date.now()): string[] {
  return deps.punches.onSite(onSiteSinceMs(deps, nowMs));
}
