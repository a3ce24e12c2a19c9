// Load something from the API for a key (a page's query), keep showing the last data while a
// new load runs, and optionally poll: `pollEvery(data)` returns ms until the next silent refresh
// (or null to stop). A 429 is retried by itself once its Retry-After has passed.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { ApiError } from "../api/errors";

export interface Resource<T> {
  data: T | null;
  error: unknown;
  /** True until the first answer for the current key (or after reload()) arrives. */
  loading: boolean;
  reload: () => void;
}

interface Result<T> {
  key: string;
  data: T | null;
  error: unknown;
}

export function useResource<T>(key: string, load: () => Promise<T>,
                               pollEvery?: (data: T) => number | null): Resource<T> {
  const [nonce, setNonce] = useState(0);
  const requestKey = `${key}#${nonce}`;
  const [result, setResult] = useState<Result<T>>({ key: "", data: null, error: null });
  const loadRef = useRef(load);
  const pollRef = useRef(pollEvery);
  useLayoutEffect(() => {
    loadRef.current = load;
    pollRef.current = pollEvery;
  });

  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const data = await loadRef.current();
        if (cancelled) return;
        setResult({ key: requestKey, data, error: null });
        const next = pollRef.current?.(data) ?? null;
        if (next !== null) timer = setTimeout(() => void run(), next);
      } catch (error) {
        if (cancelled) return;
        setResult((prev) => ({ key: requestKey, data: prev.data, error }));
        if (error instanceof ApiError && error.status === 429) {
          timer = setTimeout(() => void run(), Math.max(1, error.retryAfter ?? 5) * 1000);
        }
      }
    };
    void run();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [requestKey]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data: result.data, error: result.error, loading: result.key !== requestKey, reload };
}
