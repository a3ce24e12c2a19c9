// For admins: the programs supervisord runs and their health (GET /api/v1/admin/services); start,
// stop and restart of a program or a whole group once the admin has confirmed it
// (POST .../services/{name}/start|stop|restart); a program's log, followed live; the queue chart;
// the failed items of each queue table with requeue one / all; the audit log of admin actions; every
// other host of SUPERVISOR_SERVERS with the same actions (HostsSection).
// Honest about its own data: it says when the list was last updated, and while the API does not
// answer the rows are marked as the last known state and the actions are disabled. Each dialog
// gives the focus back to the button that opened it.
import { useEffect, useRef, useState } from "react";
import { api, call } from "../api/client";
import { ApiError, unreachableError } from "../api/errors";
import { AuditLog } from "../components/AuditLog";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorState } from "../components/ErrorState";
import { FailedItems } from "../components/FailedItems";
import { HostsSection } from "../components/HostsSection";
import { LogViewer } from "../components/LogViewer";
import { QueueChart } from "../components/QueueChart";
import { canStart, canStop, type ControlAction, controlOutcome, controlProgram, controlQuestion, controlWarning } from "../lib/control";
import { CONFIRM_WARNING, confirmQuestion, programLabel, restartOutcome, restartProgram } from "../lib/restart";
import { formatUptime } from "../lib/format";
import { healthBadge, stateBadge, summary, updatedAgo } from "../lib/serviceState";
import { useResource } from "../lib/useResource";

export const SERVICES_REFRESH_MS = 5000;

/** How the page names a program of another host in its dialogs and outcomes. */
function onHost(label: string, host?: string): string {
  return host === undefined ? label : `${label} on ${host}`;
}

/** "List updated 3 s ago", ticking on its own every second (the rest of the page is not re-rendered). */
function UpdatedAgo({ updatedAt, stale }: { updatedAt: number; stale: boolean }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const ago = updatedAgo(updatedAt, Math.max(now, updatedAt));
  return (
    <span data-testid="services-updated" className={stale ? "item-error" : undefined}>
      {stale ? `Not answering: the list is the last known state, ${ago}; actions are disabled.` : `List ${ago}.`}
    </span>
  );
}

export function ServicesPage() {
  const services = useResource("services", () => call(api.GET("/api/v1/admin/services")),
    () => SERVICES_REFRESH_MS);
  const { data, error, updatedAt } = services;
  const unavailable = error instanceof ApiError && error.status === 503;
  // The last refresh failed: what is shown is the last known state, and no action can be sent.
  const stale = data !== null && error !== null;
  // `host`: a program of another host of SUPERVISOR_SERVERS (HostsSection); none: this machine's.
  const [confirming, setConfirming] = useState<string | null>(null);
  const [confirmingHost, setConfirmingHost] = useState<string | undefined>(undefined);
  const [controlling, setControlling] = useState<{ action: ControlAction; label: string; host?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const [logOf, setLogOf] = useState<{ label: string; host?: string } | null>(null);
  // Bumped after each action taken here: the audit log shows it at once.
  const [acted, setActed] = useState(0);
  const noteAction = (): void => setActed((n) => n + 1);
  const heading = useRef<HTMLHeadingElement>(null);
  // The button that opened the dialog: it gets the focus back when the dialog closes.
  const opener = useRef<HTMLElement | null>(null);
  const dialogOpen = confirming !== null || controlling !== null;
  // The page is loaded lazily, after the shell moved focus: take it to this page's heading.
  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    if (dialogOpen || opener.current === null) return;
    const target = opener.current;
    opener.current = null;
    // Gone or disabled (the API went away meanwhile): the heading, never the page body.
    if (target.isConnected && !(target as HTMLButtonElement).disabled) target.focus();
    else heading.current?.focus();
  }, [dialogOpen, stale]);

  function open(): void {
    opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  }

  function closeDialog(): void {
    setConfirming(null);
    setBusy(false);
  }

  async function confirmRestart(label: string, host?: string): Promise<void> {
    setBusy(true);
    setOutcome(null);
    let result;
    const named = onHost(label, host);
    try {
      result = restartOutcome(named, await restartProgram(label, host));
    } catch (err) {
      result = restartOutcome(named, err instanceof ApiError ? err : unreachableError());
    }
    setOutcome(result);
    closeDialog();
    services.reload();
    noteAction();
  }
  async function confirmControl(action: ControlAction, label: string, host?: string): Promise<void> {
    setBusy(true);
    setOutcome(null);
    let result;
    const named = onHost(label, host);
    try {
      result = controlOutcome(action, named, await controlProgram(action, label, host));
    } catch (err) {
      result = controlOutcome(action, named, err instanceof ApiError ? err : unreachableError());
    }
    setOutcome(result);
    setControlling(null);
    setBusy(false);
    services.reload();
    noteAction();
  }

  function ask(action: ControlAction, label: string, host?: string): void {
    open();
    setOutcome(null);
    setControlling({ action, label, host });
  }
  function askRestart(label: string, host?: string): void {
    open();
    setOutcome(null);
    setConfirmingHost(host);
    setConfirming(label);
  }
  function toggleLog(label: string, host?: string): void {
    setLogOf(logOf !== null && logOf.label === label && logOf.host === host ? null : { label, host });
  }
  const disabled = busy || stale;
  const forbidden = error instanceof ApiError && error.status === 403;
  const groups = data === null ? [] : [...new Set(data.programs.filter((p) => p.group !== p.name).map((p) => p.group))];

  return (
    <section aria-labelledby="services-heading">
      <h1 id="services-heading" tabIndex={-1} ref={heading}>Services</h1>
      <p className="hint">
        Programs under supervisord, refreshed every {SERVICES_REFRESH_MS / 1000} s. Start, stop and restart ask for a
        confirmation first.{" "}
        {updatedAt !== null && <UpdatedAgo updatedAt={updatedAt} stale={stale} />}
      </p>
      <p className={outcome?.ok === false ? "item-error" : "flash"} role="status" aria-live="polite">
        {outcome?.text ?? ""}
      </p>
      {data && (() => {
        const said = summary(data.supervisord, data.programs);
        return (
          <p className={stale ? "hint" : said.ok ? "flash" : "item-error"} role="status">
            {stale ? `Last known: ${said.text}` : said.text}
          </p>
        );
      })()}
      {forbidden ? (
        <div className="notice notice-error" role="alert"><p>Only administrators can see the services.</p></div>
      ) : unavailable ? (
        <div className="notice notice-error" role="alert">
          <p><strong>Supervisor is not answering.</strong> {error.message}</p>
          <button type="button" onClick={services.reload}>Retry</button>
        </div>
      ) : error !== null ? (
        <ErrorState error={error} onRetry={services.reload} />
      ) : null}
      {data === null ? (
        services.loading && <p className="loading" role="status">Loading services…</p>
      ) : (
        <div className="table-wrap">
          {groups.length > 0 && (
            <div className="group-actions" role="group" aria-label="Groups">
              {groups.map((g) => (
                <span key={g} className="group-action">
                  <strong>{g}</strong> (group):{" "}
                  {/* The visible label starts the accessible name (WCAG 2.5.3): "Start all in group worker". */}
                  <button type="button" disabled={disabled} onClick={() => ask("start", g)}>
                    Start all<span className="visually-hidden"> in group {g}</span>
                  </button>{" "}
                  <button type="button" disabled={disabled} onClick={() => ask("stop", g)}>
                    Stop all<span className="visually-hidden"> in group {g}</span>
                  </button>{" "}
                  <button type="button" disabled={disabled} onClick={() => askRestart(g)}>
                    Restart all<span className="visually-hidden"> in group {g}</span>
                  </button>
                </span>
              ))}
            </div>
          )}
          <table className="services-table">
            <caption className="visually-hidden">
              {stale ? "Programs and their health, last known (the API is not answering)" : "Programs and their health"}
            </caption>
            <thead>
              <tr>
                <th scope="col">Program</th>
                <th scope="col">State</th>
                <th scope="col">PID</th>
                <th scope="col">Uptime</th>
                <th scope="col">Health</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {data.programs.map((p) => {
                const state = stateBadge(p.state, stale);
                const health = healthBadge(p, stale);
                return (
                <tr key={`${p.group}:${p.name}`} className={stale ? "stale" : undefined} data-stale={stale || undefined}>
                  <td data-label="Program">{programLabel(p)}</td>
                  <td data-label="State">
                    <span className={`badge ${state.className}`}>{state.text}</span>
                    {state.detail && <span className="hint"> ({state.detail})</span>}
                  </td>
                  <td data-label="PID">{p.pid ?? "—"}</td>
                  <td data-label="Uptime">{formatUptime(p.uptime_seconds)}</td>
                  <td data-label="Health">
                    <span className={`badge ${health.className}`}>{health.text}</span>{" "}
                    {!stale && p.health && p.health.ok && <span className="hint">{Math.round(p.health.latency_ms)} ms</span>}
                    {health.detail && (
                      <span className={health.className === "badge-failed" ? "item-error" : "hint"}>{health.detail}</span>
                    )}
                    {p.worker && (
                      <span className="worker-report" data-testid={`worker-${programLabel(p)}`}>
                        {p.worker.state ?? "?"} · {p.worker.items_processed ?? 0} done · {p.worker.errors_total ?? 0} errors
                        {p.worker.last_error && <span className="item-error">last error: {p.worker.last_error}</span>}
                      </span>
                    )}
                  </td>
                  <td className="row-actions">
                    {canStart(p.state) ? (
                      <button type="button" disabled={disabled} aria-label={`Start ${programLabel(p)}`}
                              onClick={() => ask("start", programLabel(p))}>Start</button>
                    ) : (
                      <button type="button" disabled={disabled || !canStop(p.state)} aria-label={`Stop ${programLabel(p)}`}
                              onClick={() => ask("stop", programLabel(p))}>Stop</button>
                    )}{" "}
                    <button type="button" aria-label={`Restart ${programLabel(p)}`} disabled={disabled}
                            onClick={() => askRestart(programLabel(p))}>
                      Restart
                    </button>{" "}
                    <button type="button" aria-label={`Log of ${programLabel(p)}`}
                            aria-pressed={logOf !== null && logOf.host === undefined && logOf.label === programLabel(p)}
                            onClick={() => toggleLog(programLabel(p))}>
                      Log
                    </button>
                  </td>
                </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {data !== null && !data.programs.some((p) => p.worker || p.group === "worker") && (
        <p className="hint" role="note">
          No worker processes under this supervisord. Where workers run on Kubernetes, each pod reports on its own
          {" "}<code>/readyz</code> and <code>/metrics</code> (port 8090): <code>kubectl get pods -l app.kubernetes.io/name=example-worker</code>.
        </p>
      )}
      {/* Asked at once, beside the list above (not after it): the other hosts need nothing of it. */}
      {!forbidden && (
        <HostsSection refresh={acted} reportErrors={error === null}
                      actions={{ ask, askRestart, showLog: toggleLog, logOf, disabled }} />
      )}
      {logOf !== null && (
        <LogViewer key={`${logOf.host ?? ""}|${logOf.label}`} name={logOf.label} host={logOf.host}
                   onClose={() => setLogOf(null)} />
      )}
      {/* One alert at a time: while the page says the API is not answering, the chart does not repeat it. */}
      {data !== null && <QueueChart reportErrors={error === null} />}
      {/* Neither needs supervisord: shown while it is unreachable too. */}
      {(data !== null || unavailable) && (
        <FailedItems disabled={stale} reportErrors={error === null} onChanged={noteAction} />
      )}
      {(data !== null || unavailable) && <AuditLog refresh={acted} reportErrors={error === null} />}
      {controlling !== null && (
        <ConfirmDialog title={controlQuestion(controlling.action, onHost(controlling.label, controlling.host))}
                       confirmLabel={controlling.action === "start" ? "Start" : "Stop"} busy={busy}
                       busyText={`${controlling.action === "start" ? "Starting" : "Stopping"} ${onHost(controlling.label, controlling.host)}…`}
                       onConfirm={() => void confirmControl(controlling.action, controlling.label, controlling.host)}
                       onCancel={() => setControlling(null)}>
          <p>{controlWarning(controlling.action, onHost(controlling.label, controlling.host))}</p>
        </ConfirmDialog>
      )}
      {confirming !== null && (
        <ConfirmDialog title={confirmQuestion(onHost(confirming, confirmingHost))} confirmLabel="Restart" busy={busy}
                       busyText={`Restarting ${onHost(confirming, confirmingHost)}…`}
                       onConfirm={() => void confirmRestart(confirming, confirmingHost)} onCancel={closeDialog}>
          <p>{CONFIRM_WARNING}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
