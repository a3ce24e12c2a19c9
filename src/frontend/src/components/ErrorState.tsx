import { useEffect, useRef, useState } from "react";
import { ApiError, describeError } from "../api/errors";
import { retryDelay } from "../lib/retry";

/** Counts down a 429's Retry-After, then offers the retry. */
export function RetryCountdown({ seconds, onRetry }: { seconds: number; onRetry: () => void }) {
  const [left, setLeft] = useState(seconds);
  useEffect(() => {
    const started = Date.now();
    const timer = setInterval(() => {
      setLeft(Math.max(0, seconds - Math.floor((Date.now() - started) / 1000)));
    }, 250);
    return () => clearInterval(timer);
  }, [seconds]);
  return (
    <div className="notice notice-warning" role="alert">
      <p>
        <strong>Too many requests.</strong>{" "}
        {left > 0 ? `You can try again in ${left} s.` : "You can try again now."}
      </p>
      <button type="button" onClick={onRetry} disabled={left > 0}>Try again</button>
    </div>
  );
}

/**
 * What a page shows instead of (or above) its content when loading failed. It stays in view while
 * the page scrolls (sticky), and when it replaced what had the focus (a pagination button), the
 * focus moves to it, so keyboard and screen-reader users hear about it where they are.
 */
export function ErrorState({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const box = ref.current;
    if (!box) return;
    const focus = document.activeElement;
    if (focus === null || focus === document.body) box.focus({ preventScroll: true });
    box.scrollIntoView?.({ block: "nearest" });
  }, []);
  if (error instanceof ApiError && error.status === 429) {
    return <RetryCountdown seconds={error.retryAfter ?? 5} onRetry={onRetry} />;
  }
  const unreachable = error instanceof ApiError && error.unreachable;
  const retrying = retryDelay(error, 0) !== null;
  return (
    <div className="notice notice-error notice-sticky" role="alert" tabIndex={-1} ref={ref}>
      <p>
        <strong>{unreachable ? "Cannot reach the API." : "Something went wrong."}</strong>{" "}
        {unreachable ? "The server is not answering; it may be down or restarting." : describeError(error)}
        {retrying && " Trying again by itself…"}
      </p>
      <button type="button" onClick={onRetry}>Retry</button>
    </div>
  );
}
