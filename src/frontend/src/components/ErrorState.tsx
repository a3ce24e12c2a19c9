import { useEffect, useState } from "react";
import { ApiError, describeError } from "../api/errors";

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

/** What a page shows instead of (or above) its content when loading failed. */
export function ErrorState({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  if (error instanceof ApiError && error.status === 429) {
    return <RetryCountdown seconds={error.retryAfter ?? 5} onRetry={onRetry} />;
  }
  const unreachable = error instanceof ApiError && error.unreachable;
  return (
    <div className="notice notice-error" role="alert">
      <p>
        <strong>{unreachable ? "Cannot reach the API." : "Something went wrong."}</strong>{" "}
        {unreachable ? "The server is not answering; it may be down or restarting." : describeError(error)}
      </p>
      <button type="button" onClick={onRetry}>Retry</button>
    </div>
  );
}
