/**
 * LIST paging as kube-apiserver does it: objects in key order (`<namespace>/<name>`), `limit`
 * per page, a `continue` token holding the list's resourceVersion and the last key sent, 410
 * Gone for a token older than the oldest version the store can still serve consistently, and
 * `remainingItemCount`.
 */
import { ApiError, badRequest, gone } from "./errors.ts";
import type { KObject } from "./resources.ts";
import type { StoredObject } from "./store.ts";

/** Where a page starts: the list's resourceVersion and the last key of the previous page. */
export interface PageStart {
  rv: string;
  start: string;
}

/** One page: its items, the list's resourceVersion, and the token and count for the rest. */
export interface Page {
  items: StoredObject[];
  rv: string;
  cont?: string;
  remaining?: number;
}

/** The start a `continue` token names, or undefined without one; 400 if bad, 410 if too old. */
export function parseContinue(cont: string | null, oldestWatchable: number): PageStart | undefined {
  if (!cont) return undefined;
  try {
    const token = JSON.parse(atob(cont)) as { rv: string; start: string };
    if (typeof token.start !== "string") throw new Error("bad token");
    if (Number(token.rv) < oldestWatchable) {
      throw gone("The provided continue parameter is too old to display a consistent list result.");
    }
    return { rv: token.rv, start: token.start };
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw badRequest(`continue key is not valid: ${(e as Error).message}`);
  }
}

/** The page of `all` (sorted by key) after `from.start` of the objects `match` keeps. */
export function pageOf(
  all: StoredObject[],
  match: (o: KObject) => boolean,
  limit: number,
  from: PageStart,
): Page {
  const { rv, start } = from;
  const items: StoredObject[] = [];
  let i = 0;
  if (start) {
    // Binary search past the last key of the previous page.
    let lo = 0, hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = all[mid].obj.metadata!;
      if (`${m.namespace ?? ""}/${m.name}` <= start) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
  }
  for (; i < all.length; i++) {
    if (!match(all[i].obj)) continue;
    if (limit && items.length === limit) {
      const last = items[items.length - 1].obj.metadata!;
      let remaining = 0;
      for (let j = i; j < all.length; j++) if (match(all[j].obj)) remaining++;
      return {
        items,
        rv,
        cont: btoa(JSON.stringify({ rv, start: `${last.namespace ?? ""}/${last.name}` })),
        remaining,
      };
    }
    items.push(all[i]);
  }
  return { items, rv };
}
