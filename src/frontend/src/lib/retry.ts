// When a failed load is tried again by itself: soon at first, then less often, and only while the
// page is visible (a hidden tab waits and tries at once when it is shown again).
import { ApiError } from "../api/errors";

export const RETRY_FIRST_MS = 1000;
export const RETRY_MAX_MS = 10000;

/** 1 s, 2 s, 4 s, 8 s, then every 10 s. */
export function backoff(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, attempt));
}

/**
 * Milliseconds until trying again after `error` (the `attempt`-th failure in a row, from 0), or
 * null when trying again cannot help (a 4xx other than 429: the request itself is wrong).
 */
export function retryDelay(error: unknown, attempt: number): number | null {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 429) return Math.max(1, error.retryAfter ?? 5) * 1000;
  if (error.unreachable || error.status >= 500) return backoff(attempt);
  return null;
}

function visible(): boolean {
  return typeof document === "undefined" || document.visibilityState !== "hidden";
}

/** Runs `fn` after `ms`, or later when the page is next visible; returns a cancel function. */
export function whenVisibleAfter(ms: number, fn: () => void): () => void {
  let listening = false;
  const onVisibility = () => {
    if (!visible()) return;
    stopListening();
    fn();
  };
  const stopListening = () => {
    if (listening) document.removeEventListener("visibilitychange", onVisibility);
    listening = false;
  };
  const timer = setTimeout(() => {
    if (visible()) {
      fn();
    } else {
      listening = true;
      document.addEventListener("visibilitychange", onVisibility);
    }
  }, ms);
  return () => {
    clearTimeout(timer);
    stopListening();
  };
}
