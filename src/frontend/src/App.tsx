import { useEffect, useState } from "react";

type Health = { status: string; uptime_seconds: number; connection_pool: Record<string, unknown> };

export function App() {
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetch("/health")
      .then(async (r) => {
        const body = (await r.json()) as Health;
        setHealth(body);
        if (!r.ok) setError(`API answered ${r.status}`);
      })
      .catch((e: unknown) => setError(`API unreachable: ${String(e)}`));
  }, []);

  return (
    <main>
      <h1>Service Stack</h1>
      {error && <p role="alert">{error}</p>}
      {health ? (
        <p data-testid="api-health">
          API status: <strong>{health.status}</strong>, up {health.uptime_seconds} s
        </p>
      ) : (
        !error && <p>Loading…</p>
      )}
    </main>
  );
}
