// A queue table's failed items (id, attempts, when, error), newest first, with requeue one and
// requeue all (after a confirmation): the Services page's answer to "why is `failed` growing?".
// Any queue table of the stack (GET /api/v1/admin/queue lists them); every requeue is in the audit
// log, and `onChanged` tells the page to show it. A requeued item leaves the list at once.
import { useRef, useState } from "react";
import { api, call } from "../api/client";
import { ApiError, unreachableError } from "../api/errors";
import type { QueueSnapshot } from "../api/types";
import { formatDateTime } from "../lib/format";
import { loadFailed, requeueAll, requeueAllQuestion, requeueOne, requeueOutcome } from "../lib/failedItems";
import { useResource } from "../lib/useResource";
import { ConfirmDialog } from "./ConfirmDialog";
import { ErrorState } from "./ErrorState";

export const FAILED_REFRESH_MS = 5000;

interface Props {
  /** While the page shows the API as down: nothing can be sent. */
  disabled?: boolean;
  /** False while the page already says the API is not answering (one alert, not two). */
  reportErrors?: boolean;
  onChanged?: () => void;
}

export function FailedItems({ disabled = false, reportErrors = true, onChanged }: Props) {
  const [table, setTable] = useState("items");
  const tables = useResource("failed-tables", () => call(api.GET("/api/v1/admin/queue")), () => FAILED_REFRESH_MS);
  const failed = useResource(`failed:${table}`, () => loadFailed(table), () => FAILED_REFRESH_MS);
  // Requeued here since `failed.data` was loaded: hidden at once (the next load no longer has them).
  const [requeued, setRequeued] = useState<{ of: unknown; ids: ReadonlySet<number> }>({ of: null, ids: new Set() });
  const [busy, setBusy] = useState<number | "all" | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const allButton = useRef<HTMLButtonElement>(null);

  const gone = requeued.of === failed.data ? requeued.ids : new Set<number>();
  const queues: NonNullable<QueueSnapshot["queues"]> = tables.data?.queues ?? [];
  const choices = queues.length > 0 ? queues.map((q) => ({ name: q.table, failed: q.counts.failed ?? 0 })) : [{ name: table, failed: null }];
  const page = failed.data !== null && !failed.stale && failed.data.table === table ? failed.data : null;
  const rows = (page?.items ?? []).filter((item) => !gone.has(item.id));
  const total = page === null ? 0 : Math.max(0, page.total - gone.size);

  async function requeue(id: number | null): Promise<void> {
    setBusy(id ?? "all");
    setOutcome(null);
    let result;
    try {
      const done = id === null ? await requeueAll(table) : await requeueOne(table, id);
      result = requeueOutcome(table, id, done);
      if (id !== null) setRequeued({ of: failed.data, ids: new Set(gone).add(id) });
    } catch (err) {
      result = requeueOutcome(table, id, err instanceof ApiError ? err : unreachableError());
    }
    setOutcome(result);
    setBusy(null);
    setConfirming(false);
    // The row's button is gone (or the dialog closed): keep the focus in this section.
    if (id !== null) heading.current?.focus();
    else allButton.current?.focus();
    failed.reload();
    onChanged?.();
  }

  const error = failed.error ?? tables.error;
  return (
    <section className="card" aria-labelledby="failed-heading" data-testid="failed-items">
      <h2 id="failed-heading" tabIndex={-1} ref={heading}>Failed items</h2>
      <p className="hint">
        Items whose last attempt failed, newest first. Requeue makes an item pending again with its attempts at 0; a
        worker takes it like a new one.
      </p>
      <div className="filters">
        <label>
          Queue table{" "}
          <select value={table} onChange={(e) => { setTable(e.target.value); setOutcome(null); }}>
            {choices.map((q) => (
              <option key={q.name} value={q.name}>{q.failed === null ? q.name : `${q.name} (${q.failed} failed)`}</option>
            ))}
          </select>
        </label>
        <button type="button" ref={allButton} disabled={disabled || busy !== null || total === 0}
                onClick={() => setConfirming(true)}>
          Requeue all<span className="visually-hidden"> failed items of {table}</span>
        </button>
      </div>
      <p className={outcome?.ok === false ? "item-error" : "flash"} role="status" aria-live="polite"
         data-testid="failed-outcome">
        {outcome?.text ?? ""}
      </p>
      {reportErrors && error !== null && <ErrorState error={error} onRetry={() => { failed.reload(); tables.reload(); }} />}
      {page === null ? (
        failed.loading && <p className="loading" role="status">Loading failed items…</p>
      ) : rows.length === 0 ? (
        <p className="empty" data-testid="failed-empty">No failed items in {table}.</p>
      ) : (
        <div className="table-wrap">
          <table className="failed-table">
            <caption className="visually-hidden">Failed items of {table}</caption>
            <thead>
              <tr>
                <th scope="col">ID</th>
                <th scope="col">Attempts</th>
                <th scope="col">Failed at</th>
                <th scope="col">Error</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {rows.map((item) => (
                <tr key={item.id} data-item={item.id}>
                  <td data-label="ID">{item.id}</td>
                  <td data-label="Attempts">{item.attempts}</td>
                  <td data-label="Failed at">{formatDateTime(item.failed_at)}</td>
                  <td data-label="Error" className="title-cell">{item.error ?? "—"}</td>
                  <td className="row-actions">
                    <button type="button" aria-label={`Requeue item ${item.id}`} disabled={disabled || busy !== null}
                            onClick={() => void requeue(item.id)}>
                      {busy === item.id ? "Requeueing…" : "Requeue"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.total > page.items.length && (
            <p className="hint">The newest {page.items.length} of {page.total}; requeue all takes every one.</p>
          )}
        </div>
      )}
      {confirming && (
        <ConfirmDialog title={requeueAllQuestion(table, total)} confirmLabel="Requeue all" busy={busy === "all"}
                       busyText={`Requeueing the failed items of ${table}…`}
                       onConfirm={() => void requeue(null)}
                       onCancel={() => { setConfirming(false); allButton.current?.focus(); }}>
          <p>They become pending with their attempts at 0, and workers process them again.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
