// Failed items of a queue table (GET /api/v1/admin/queue/{table}/failed) and requeueing them
// (POST .../failed/{id}/requeue, POST .../failed/requeue), and the sentence the page shows for the
// outcome. Pure apart from the two calls: unit-tested in failedItems.test.ts.
import { api, call } from "../api/client";
import { ApiError } from "../api/errors";
import type { FailedPage, Requeued } from "../api/types";

export const FAILED_PAGE_SIZE = 50;

export function loadFailed(table: string): Promise<FailedPage> {
  return call(api.GET("/api/v1/admin/queue/{table}/failed", {
    params: { path: { table }, query: { limit: FAILED_PAGE_SIZE } },
  }));
}

export function requeueOne(table: string, id: number): Promise<Requeued> {
  return call(api.POST("/api/v1/admin/queue/{table}/failed/{item_id}/requeue", {
    params: { path: { table, item_id: id } },
  }));
}

export function requeueAll(table: string): Promise<Requeued> {
  return call(api.POST("/api/v1/admin/queue/{table}/failed/requeue", { params: { path: { table } } }));
}

export function requeueAllQuestion(table: string, total: number): string {
  return `Requeue all ${total} failed item${total === 1 ? "" : "s"} of ${table}?`;
}

/** One sentence for the outcome of a requeue: what changed, or why nothing did. */
export function requeueOutcome(table: string, id: number | null, outcome: Requeued | ApiError): { ok: boolean; text: string } {
  const what = id === null ? `Requeue all of ${table}` : `Requeue of item ${id}`;
  if (outcome instanceof ApiError) {
    if (outcome.unreachable) return { ok: false, text: `Lost the connection during the ${what.toLowerCase()}; the list shows the state.` };
    return { ok: false, text: `${what} failed: ${outcome.message}` };
  }
  const left = outcome.remaining === 0 ? "none still failed" : `${outcome.remaining} still failed`;
  if (id !== null) return { ok: true, text: `Item ${id} of ${table} requeued; ${left}.` };
  return { ok: true, text: `Requeued ${outcome.requeued} item${outcome.requeued === 1 ? "" : "s"} of ${table}; ${left}.` };
}
