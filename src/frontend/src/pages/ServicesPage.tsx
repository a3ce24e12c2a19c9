// For admins: the programs supervisord runs and their health (GET /api/v1/admin/services); start,
// stop and restart of a program or a whole group once the admin has confirmed it
// (POST .../services/{name}/start|stop|restart); a program's log, followed live; the queue chart.
import { useEffect, useRef, useState } from "react";
import { api, call } from "../api/client";
import { ApiError, unreachableError } from "../api/errors";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorState } from "../components/ErrorState";
import { LogViewer } from "../components/LogViewer";
import { QueueChart } from "../components/QueueChart";
import { canStart, canStop, type ControlAction, controlOutcome, controlProgram, controlQuestion, controlWarning } from "../lib/control";
import { CONFIRM_WARNING, confirmQuestion, programLabel, restartOutcome, restartProgram } from "../lib/restart";
import { formatUptime } from "../lib/format";
import { useResource } from "../lib/useResource";

export const SERVICES_REFRESH_MS = 5000;

function stateClass(state: string): string {
  if (state === "RUNNING") return "badge-done";
  if (state === "STARTING" || state === "STOPPING" || state === "BACKOFF") return "badge-processing";
  if (state === "STOPPED" || state === "EXITED") return "badge-pending";
  return "badge-failed";
}

export function ServicesPage() {
  const services = useResource("services", () => call(api.GET("/api/v1/admin/services")),
    () => SERVICES_REFRESH_MS);
  const { data, error } = services;
  const unavailable = error instanceof ApiError && error.status === 503;
  const [confirming, setConfirming] = useState<string | null>(null);
  const [controlling, setControlling] = useState<{ action: ControlAction; label: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const restartButtons = useRef(new Map<string, HTMLButtonElement>());
  const [logOf, setLogOf] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  // The page is loaded lazily, after the shell moved focus: take it to this page's heading.
  useEffect(() => heading.current?.focus(), []);

  function closeDialog(label: string): void {
    setConfirming(null);
    setBusy(false);
    restartButtons.current.get(label)?.focus();
  }

  async function confirmRestart(label: string): Promise<void> {
    setBusy(true);
    setOutcome(null);
    let result;
    try {
      result = restartOutcome(label, await restartProgram(label));
    } catch (err) {
      result = restartOutcome(label, err instanceof ApiError ? err : unreachableError());
    }
    setOutcome(result);
    closeDialog(label);
    services.reload();
  }
  async function confirmControl(action: ControlAction, label: string): Promise<void> {
    setBusy(true);
    setOutcome(null);
    let result;
    try {
      result = controlOutcome(action, label, await controlProgram(action, label));
    } catch (err) {
      result = controlOutcome(action, label, err instanceof ApiError ? err : unreachableError());
    }
    setOutcome(result);
    setControlling(null);
    setBusy(false);
    services.reload();
  }

  function ask(action: ControlAction, label: string): void {
    setOutcome(null);
    setControlling({ action, label });
  }
  const forbidden = error instanceof ApiError && error.status === 403;
  const groups = data === null ? [] : [...new Set(data.programs.filter((p) => p.group !== p.name).map((p) => p.group))];

  return (
    <section aria-labelledby="services-heading">
      <h1 id="services-heading" tabIndex={-1} ref={heading}>Services</h1>
      <p className="hint">
        Programs under supervisord, refreshed every {SERVICES_REFRESH_MS / 1000} s. Restart asks for a confirmation first.
      </p>
      <p className={outcome?.ok === false ? "item-error" : "flash"} role="status" aria-live="polite">
        {outcome?.text ?? ""}
      </p>
      {data && (
        <p className={data.healthy ? "flash" : "item-error"} role="status">
          supervisord {data.supervisord}: {data.healthy ? "all programs healthy" : `${data.programs.filter((p) => !p.healthy).length} program(s) need attention`}
        </p>
      )}
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
                  <button type="button" disabled={busy} onClick={() => ask("start", g)} aria-label={`Start group ${g}`}>Start all</button>{" "}
                  <button type="button" disabled={busy} onClick={() => ask("stop", g)} aria-label={`Stop group ${g}`}>Stop all</button>{" "}
                  <button type="button" disabled={busy} onClick={() => { setOutcome(null); setConfirming(g); }}
                          aria-label={`Restart group ${g}`}>Restart all</button>
                </span>
              ))}
            </div>
          )}
          <table className="services-table">
            <caption className="visually-hidden">Programs and their health</caption>
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
              {data.programs.map((p) => (
                <tr key={`${p.group}:${p.name}`}>
                  <td data-label="Program">{programLabel(p)}</td>
                  <td data-label="State"><span className={`badge ${stateClass(p.state)}`}>{p.state}</span></td>
                  <td data-label="PID">{p.pid ?? "—"}</td>
                  <td data-label="Uptime">{formatUptime(p.uptime_seconds)}</td>
                  <td data-label="Health">
                    <span className={`badge ${p.healthy ? "badge-done" : "badge-failed"}`}>
                      {p.healthy ? "Healthy" : "Unhealthy"}
                    </span>{" "}
                    {p.health && p.health.ok && <span className="hint">{Math.round(p.health.latency_ms)} ms</span>}
                    {!p.healthy && p.problem && <span className="item-error">{p.problem}</span>}
                    {p.worker && (
                      <span className="worker-report" data-testid={`worker-${programLabel(p)}`}>
                        {p.worker.state ?? "?"} · {p.worker.items_processed ?? 0} done · {p.worker.errors_total ?? 0} errors
                        {p.worker.last_error && <span className="item-error">last error: {p.worker.last_error}</span>}
                      </span>
                    )}
                  </td>
                  <td className="row-actions">
                    {canStart(p.state) ? (
                      <button type="button" disabled={busy} aria-label={`Start ${programLabel(p)}`}
                              onClick={() => ask("start", programLabel(p))}>Start</button>
                    ) : (
                      <button type="button" disabled={busy || !canStop(p.state)} aria-label={`Stop ${programLabel(p)}`}
                              onClick={() => ask("stop", programLabel(p))}>Stop</button>
                    )}{" "}
                    <button type="button" aria-label={`Restart ${programLabel(p)}`} disabled={busy}
                            ref={(el) => {
                              if (el) restartButtons.current.set(programLabel(p), el);
                              else restartButtons.current.delete(programLabel(p));
                            }}
                            onClick={() => { setOutcome(null); setConfirming(programLabel(p)); }}>
                      Restart
                    </button>{" "}
                    <button type="button" aria-label={`Log of ${programLabel(p)}`} aria-pressed={logOf === programLabel(p)}
                            onClick={() => setLogOf(logOf === programLabel(p) ? null : programLabel(p))}>
                      Log
                    </button>
                  </td>
                </tr>
              ))}
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
      {logOf !== null && <LogViewer key={logOf} name={logOf} onClose={() => setLogOf(null)} />}
      {data !== null && <QueueChart />}
      {controlling !== null && (
        <ConfirmDialog title={controlQuestion(controlling.action, controlling.label)}
                       confirmLabel={controlling.action === "start" ? "Start" : "Stop"} busy={busy}
                       busyText={`${controlling.action === "start" ? "Starting" : "Stopping"} ${controlling.label}…`}
                       onConfirm={() => void confirmControl(controlling.action, controlling.label)}
                       onCancel={() => setControlling(null)}>
          <p>{controlWarning(controlling.action, controlling.label)}</p>
        </ConfirmDialog>
      )}
      {confirming !== null && (
        <ConfirmDialog title={confirmQuestion(confirming)} confirmLabel="Restart" busy={busy}
                       busyText={`Restarting ${confirming}…`}
                       onConfirm={() => void confirmRestart(confirming)} onCancel={() => closeDialog(confirming)}>
          <p>{CONFIRM_WARNING}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
