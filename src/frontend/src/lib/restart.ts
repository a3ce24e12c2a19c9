// Restarting one supervisord program (POST /api/v1/admin/services/{name}/restart) and the sentence
// the Services page shows for the outcome. Pure apart from `restartProgram`: unit-tested in restart.test.ts.
import { api } from "../api/client";
import { ApiError, toApiError, unreachableError } from "../api/errors";
import type { ServiceProgram } from "../api/types";

export interface RestartResult {
  /** 200: restarted and waited for; 202: the API restarting itself in the background. */
  status: 200 | 202;
  program: ServiceProgram;
}

/** How the page names a program, and the name the API resolves (`group:name` inside a group). */
export function programLabel(p: Pick<ServiceProgram, "group" | "name">): string {
  return p.group === p.name ? p.name : `${p.group}:${p.name}`;
}

export function confirmQuestion(label: string): string {
  return `Restart ${label}?`;
}

export const CONFIRM_WARNING = "Requests in flight may fail.";

/** `host`: a SUPERVISOR_SERVERS host's label; none: this machine's supervisord. */
export async function restartProgram(label: string, host?: string): Promise<RestartResult> {
  let result;
  try {
    result = await api.POST("/api/v1/admin/services/{name}/restart", {
      params: { path: { name: label }, query: host === undefined ? {} : { host } },
    });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw unreachableError();
  }
  const { response, data, error } = result;
  if (!response.ok || data === undefined) throw toApiError(response.status, error, response.headers);
  return { status: response.status === 202 ? 202 : 200, program: data };
}

/** One sentence for the outcome: what the program is doing now, or why the restart failed. */
export function restartOutcome(label: string, outcome: RestartResult | ApiError): { ok: boolean; text: string } {
  if (outcome instanceof ApiError && outcome.unreachable) {
    // Restarting the frontend (its dev server proxies the API) or the API drops this very request.
    return { ok: false, text: `Lost the connection during the restart of ${label}; the list shows its state.` };
  }
  if (outcome instanceof ApiError) {
    return { ok: false, text: `Restart of ${label} failed: ${outcome.message}` };
  }
  if (outcome.status === 202) {
    return { ok: true, text: `${label} is restarting in the background; the list updates when it is back.` };
  }
  const p = outcome.program;
  const pid = p.pid === null ? "" : `, pid ${p.pid}`;
  if (p.healthy) return { ok: true, text: `${label} restarted: ${p.state}${pid}, healthy.` };
  return { ok: false, text: `${label} restarted but is ${p.state}${pid}, unhealthy${p.problem ? `: ${p.problem}` : ""}.` };
}
