// What the Services page says about a program and about its own data. Honest: a program stopped on
// purpose (STOPPED: supervisord was asked to) is "Stopped", not "Unhealthy"; when the last refresh
// failed, every row is the last known state and its health is unknown. Pure: serviceState.test.ts.
import type { ServiceProgram } from "../api/types";

export interface Badge {
  text: string;
  className: string;
  /** A phrase next to the badge ("" for none). */
  detail: string;
}

export function stateBadge(state: string, stale: boolean): Badge {
  const detail = stale ? "last known" : "";
  if (stale) return { text: state, className: "badge-stale", detail };
  if (state === "RUNNING") return { text: state, className: "badge-done", detail };
  if (state === "STARTING" || state === "STOPPING" || state === "BACKOFF") return { text: state, className: "badge-processing", detail };
  if (state === "STOPPED" || state === "EXITED") return { text: state, className: "badge-pending", detail };
  return { text: state, className: "badge-failed", detail };
}

export function healthBadge(p: Pick<ServiceProgram, "state" | "healthy" | "problem" | "description">, stale: boolean): Badge {
  if (stale) return { text: "Unknown", className: "badge-stale", detail: "" };
  if (p.healthy) return { text: "Healthy", className: "badge-done", detail: "" };
  if (p.state === "STOPPED") {
    // supervisord's description of a stopped process is when it stopped ("Dec 07 03:12 AM"), or "Not started".
    const since = p.description && p.description !== "Not started" ? `stopped on purpose since ${p.description}` : "not started";
    return { text: "Stopped", className: "badge-pending", detail: since };
  }
  return { text: "Unhealthy", className: "badge-failed", detail: p.problem };
}

/** Programs that need someone: not healthy, and not stopped on purpose. */
export function needingAttention(programs: Pick<ServiceProgram, "state" | "healthy">[]): number {
  return programs.filter((p) => !p.healthy && p.state !== "STOPPED").length;
}

export function summary(supervisord: string, programs: Pick<ServiceProgram, "state" | "healthy">[]): { ok: boolean; text: string } {
  const attention = needingAttention(programs);
  const stopped = programs.filter((p) => p.state === "STOPPED").length;
  const stoppedText = stopped ? `; ${stopped} stopped` : "";
  if (supervisord !== "RUNNING") return { ok: false, text: `supervisord ${supervisord}` };
  if (attention === 0) return { ok: true, text: `supervisord RUNNING: ${stopped ? "all running programs healthy" : "all programs healthy"}${stoppedText}` };
  return { ok: false, text: `supervisord RUNNING: ${attention} program(s) need attention${stoppedText}` };
}

/** "updated just now", "updated 12 s ago", "updated 3 min ago". */
export function updatedAgo(updatedAt: number, now: number): string {
  const seconds = Math.max(0, Math.floor((now - updatedAt) / 1000));
  if (seconds < 2) return "updated just now";
  if (seconds < 120) return `updated ${seconds} s ago`;
  return `updated ${Math.floor(seconds / 60)} min ago`;
}
