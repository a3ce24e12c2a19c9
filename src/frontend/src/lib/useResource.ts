// Load something from the API for a key (a page's query), keep showing the last data while a
// new load runs, and optionally poll: `pollEvery(data)` returns ms until the next silent refresh
// (or null to stop). A failure that may pass (API down, 5xx, 429) is tried again by itself with
// backoff while the page is visible (lib/retry.ts), so a page recovers without a click.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { retryDelay, whenVisibleAfter } from "./retry";

export interface Resource<T> {
  data: T | null;
  /** True when `data` was loaded for another key (the previous page): it does not match the URL. */
  stale: boolean;
  error: unknown;
  /** True until the first answer for the current key (or after reload()) arrives. */
  loading: boolean;
  /** When `data` was last loaded (Date.now()), or null before the first answer. */
  updatedAt: number | null;
  reload: () => void;
}

interface Result<T> {
  requestKey: string;
  dataKey: string;
  data: T | null;
  error: unknown;
  updatedAt: number | null;
}

export function useResource<T>(key: string, load: () => Promise<T>,
                               pollEvery?: (data: T) => number | null): Resource<T> {
  const [nonce, setNonce] = useState(0);
  const requestKey = `${key}#${nonce}`;
  const [result, setResult] = useState<Result<T>>({ requestKey: "", dataKey: "", data: null, error: null, updatedAt: null });
  const loadRef = useRef(load);
  const pollRef = useRef(pollEvery);
  useLayoutEffect(() => {
    loadRef.current = load;
    pollRef.current = pollEvery;
  });

  useEffect(() => {
    let cancelled = false;
    let cancelTimer: (() => void) | undefined;
    let failures = 0;
    const run = async (): Promise<void> => {
      try {
        const data = await loadRef.current();
        if (cancelled) return;
        failures = 0;
        setResult({ requestKey, dataKey: key, data, error: null, updatedAt: Date.now() });
        const next = pollRef.current?.(data) ?? null;
        if (next !== null) cancelTimer = whenVisibleAfter(next, () => void run());
      } catch (error) {
        if (cancelled) return;
        setResult((prev) => ({ ...prev, requestKey, error }));
        const delay = retryDelay(error, failures);
        failures += 1;
        if (delay !== null) cancelTimer = whenVisibleAfter(delay, () => void run());
      }
    };
    void run();
    return () => {
      cancelled = true;
      cancelTimer?.();
    };
  }, [requestKey, key]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return {
    data: result.data,
    stale: result.data !== null && result.dataKey !== key,
    error: result.error,
    loading: result.requestKey !== requestKey,
    updatedAt: result.updatedAt,
    reload,
  };
}
