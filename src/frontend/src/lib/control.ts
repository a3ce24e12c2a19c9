// Starting and stopping supervisord programs and groups from the Services page
// (POST /api/v1/admin/services/{name}/start|stop), and the sentence the page shows for the outcome.
// Restart has its own module (restart.ts). Pure apart from `controlProgram`: unit-tested in control.test.ts.
import { api } from "../api/client";
import { ApiError, toApiError, unreachableError } from "../api/errors";
import type { ServiceProgram } from "../api/types";

export type ControlAction = "start" | "stop";

export interface ControlResult {
  /** 200: done and waited for; 202: the API stopping itself (supervisord was asked). */
  status: 200 | 202;
  program: ServiceProgram;
}

const VERB = { start: "Start", stop: "Stop" } as const;
const DONE = { start: "started", stop: "stopped" } as const;

export function controlQuestion(action: ControlAction, label: string): string {
  return `${VERB[action]} ${label}?`;
}

export function controlWarning(action: ControlAction, label: string): string {
  if (action === "start") return `${label} is started and checked for health.`;
  return `${label} stays stopped until someone starts it; requests in flight may fail.`;
}

/** Which actions make sense in a process's state. */
export function canStart(state: string): boolean {
  return !["RUNNING", "STARTING", "STOPPING"].includes(state);
}

export function canStop(state: string): boolean {
  return ["RUNNING", "STARTING", "BACKOFF"].includes(state);
}

/** `host`: a SUPERVISOR_SERVERS host's label (GET /api/v1/admin/hosts); none: this machine's supervisord. */
export async function controlProgram(action: ControlAction, label: string, host?: string): Promise<ControlResult> {
  const path = action === "start" ? "/api/v1/admin/services/{name}/start" : "/api/v1/admin/services/{name}/stop";
  let result;
  try {
    result = await api.POST(path, { params: { path: { name: label }, query: host === undefined ? {} : { host } } });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw unreachableError();
  }
  const { response, data, error } = result;
  if (!response.ok || data === undefined) throw toApiError(response.status, error, response.headers);
  return { status: response.status === 202 ? 202 : 200, program: data };
}

/** One sentence for the outcome: the state the program is in now, or why the action failed. */
export function controlOutcome(action: ControlAction, label: string,
                               outcome: ControlResult | ApiError): { ok: boolean; text: string } {
  if (outcome instanceof ApiError && outcome.unreachable) {
    return { ok: false, text: `Lost the connection during the ${action} of ${label}; the list shows its state.` };
  }
  if (outcome instanceof ApiError) return { ok: false, text: `${VERB[action]} of ${label} failed: ${outcome.message}` };
  if (outcome.status === 202) return { ok: true, text: `${label} is stopping; this page loses the API until it is started again.` };
  const p = outcome.program;
  if (action === "stop") {
    return p.state === "STOPPED" ? { ok: true, text: `${label} ${DONE.stop}.` } : { ok: false, text: `${label} is ${p.state}.` };
  }
  const pid = p.pid === null ? "" : `, pid ${p.pid}`;
  if (p.healthy) return { ok: true, text: `${label} ${DONE.start}: ${p.state}${pid}, healthy.` };
  return { ok: false, text: `${label} started but is ${p.state}${pid}, unhealthy${p.problem ? `: ${p.problem}` : ""}.` };
}
