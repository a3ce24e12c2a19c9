// Every other supervisord of SUPERVISOR_SERVERS (GET /api/v1/admin/hosts), grouped by host: each with
// its programs' state and health, or "Unreachable" and why (the API bounds each host by
// SUPERVISOR_HOST_TIMEOUT, so one that hangs never holds the others). Start, stop, restart and log
// act on that host (`?host=LABEL`) through the page's own dialogs and log viewer. This machine's own
// supervisord is the table above; an entry for its socket is not repeated here. Nothing is shown
// when SUPERVISOR_SERVERS is not set.
import { api, call } from "../api/client";
import type { HostOut } from "../api/types";
import type { ControlAction } from "../lib/control";
import { canStart, canStop } from "../lib/control";
import { formatUptime } from "../lib/format";
import { programLabel } from "../lib/restart";
import { healthBadge, stateBadge, summary } from "../lib/serviceState";
import { useResource } from "../lib/useResource";
import { ErrorState } from "./ErrorState";

export const HOSTS_REFRESH_MS = 5000;

export interface HostActions {
  ask: (action: ControlAction, label: string, host: string) => void;
  askRestart: (label: string, host: string) => void;
  showLog: (label: string, host: string) => void;
  logOf: { label: string; host?: string } | null;
  disabled: boolean;
}

export function HostsSection({ actions, refresh, reportErrors = true }: {
  actions: HostActions;
  /** Bumped after an action on a host: the list is read again at once. */
  refresh: number;
  reportErrors?: boolean;
}) {
  const hosts = useResource(`hosts#${refresh}`, () => call(api.GET("/api/v1/admin/hosts")), () => HOSTS_REFRESH_MS);
  // Anything but a hosts list (an API from before this route) shows nothing.
  const data = hosts.data && Array.isArray(hosts.data.hosts) ? hosts.data : null;
  const shown = data?.hosts.filter((h) => !h.local) ?? [];
  if (data === null) return null;
  if (shown.length === 0 && data.repeated.length === 0) return null;
  return (
    <section className="card hosts" aria-labelledby="hosts-heading">
      <h2 id="hosts-heading">Other hosts</h2>
      <p className="hint">
        Every host of SUPERVISOR_SERVERS, read at once; one that does not answer within {data.timeout_seconds} s is shown
        unreachable.
      </p>
      {reportErrors && hosts.error !== null && <ErrorState error={hosts.error} onRetry={hosts.reload} />}
      {data.repeated.length > 0 && (
        <p className="item-error" role="note" data-testid="hosts-repeated">
          Listed more than once in SUPERVISOR_SERVERS (shown once): {data.repeated.join(", ")}.
        </p>
      )}
      {shown.map((h) => <HostTable key={h.label} host={h} actions={actions} />)}
    </section>
  );
}

function HostTable({ host, actions }: { host: HostOut; actions: HostActions }) {
  const { disabled } = actions;
  const said = host.reachable ? summary(host.supervisord ?? "?", host.programs) : null;
  return (
    <section className="host" aria-label={`Host ${host.label}`} data-host={host.label}>
      <h3>Host {host.label}</h3>
      {said === null ? (
        <p className="item-error" data-testid="host-state">Unreachable: {host.error}</p>
      ) : (
        <p className={said.ok ? "flash" : "item-error"} data-testid="host-state">{said.text}</p>
      )}
      {host.programs.length > 0 && (
        <table className="host-table">
          <caption className="visually-hidden">Programs on {host.label}</caption>
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
            {host.programs.map((p) => {
              const label = programLabel(p);
              const state = stateBadge(p.state, false);
              const health = healthBadge(p, false);
              const on = ` on ${host.label}`;
              const logShown = actions.logOf?.label === label && actions.logOf.host === host.label;
              return (
                <tr key={label}>
                  <td data-label="Program">{label}</td>
                  <td data-label="State"><span className={`badge ${state.className}`}>{state.text}</span></td>
                  <td data-label="PID">{p.pid ?? "—"}</td>
                  <td data-label="Uptime">{formatUptime(p.uptime_seconds)}</td>
                  <td data-label="Health">
                    <span className={`badge ${health.className}`}>{health.text}</span>
                    {health.detail && <span className="hint"> {health.detail}</span>}
                  </td>
                  <td className="row-actions">
                    {canStart(p.state) ? (
                      <button type="button" disabled={disabled} aria-label={`Start ${label}${on}`}
                              onClick={() => actions.ask("start", label, host.label)}>Start</button>
                    ) : (
                      <button type="button" disabled={disabled || !canStop(p.state)} aria-label={`Stop ${label}${on}`}
                              onClick={() => actions.ask("stop", label, host.label)}>Stop</button>
                    )}{" "}
                    <button type="button" disabled={disabled} aria-label={`Restart ${label}${on}`}
                            onClick={() => actions.askRestart(label, host.label)}>Restart</button>{" "}
                    <button type="button" aria-label={`Log of ${label}${on}`} aria-pressed={logShown}
                            onClick={() => actions.showLog(label, host.label)}>Log</button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
