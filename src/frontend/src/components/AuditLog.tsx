// The audit log on the Services page: who did which admin action, when, on what, and how it went
// (GET /api/v1/admin/audit), newest first, refreshed every AUDIT_REFRESH_MS and at once when
// `refresh` changes (the page bumps it after each of its own actions).
import { api, call } from "../api/client";
import type { AuditEntry } from "../api/types";
import { formatDateTime } from "../lib/format";
import { useResource } from "../lib/useResource";
import { ErrorState } from "./ErrorState";

export const AUDIT_REFRESH_MS = 5000;
export const AUDIT_SHOWN = 20;

interface Props {
  refresh?: number;
  /** False while the page already says the API is not answering (one alert, not two). */
  reportErrors?: boolean;
}

function what(entry: AuditEntry): string {
  return entry.host ? `${entry.target} on ${entry.host}` : entry.target;
}

export function AuditLog({ refresh = 0, reportErrors = true }: Props) {
  // A new key loads at once; the entries shown so far stay until the answer comes.
  const audit = useResource(`audit#${refresh}`,
    () => call(api.GET("/api/v1/admin/audit", { params: { query: { limit: AUDIT_SHOWN } } })), () => AUDIT_REFRESH_MS);
  const { reload } = audit;
  const entries = audit.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="audit-heading" data-testid="audit-log">
      <h2 id="audit-heading">Audit log</h2>
      <p className="hint">
        The last {AUDIT_SHOWN} admin actions (start, stop, restart, requeue, user and API key changes), newest first;
        {" "}<code>ctl audit</code> shows more.
      </p>
      {reportErrors && audit.error !== null && <ErrorState error={audit.error} onRetry={reload} />}
      {audit.data === null ? (
        audit.loading && <p className="loading" role="status">Loading the audit log…</p>
      ) : entries.length === 0 ? (
        <p className="empty">No admin actions recorded yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="audit-table">
            <caption className="visually-hidden">Admin actions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-action={e.action} data-outcome={e.outcome}>
                  <td data-label="When">{formatDateTime(e.at)}</td>
                  <td data-label="Who">{e.actor}{e.via !== "api" && <span className="hint"> ({e.via})</span>}</td>
                  <td data-label="Action"><code>{e.action}</code></td>
                  <td data-label="Target" className="title-cell">
                    {what(e)}{e.detail && <span className="hint"> ({e.detail})</span>}
                  </td>
                  <td data-label="Outcome">
                    <span className={`badge ${e.outcome === "ok" ? "badge-done" : "badge-failed"}`}>{e.outcome}</span>
                    {e.error && <span className="item-error">{e.error}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
