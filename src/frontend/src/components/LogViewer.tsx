// A program's log, followed live: the last lines, then each new one once, from
// GET /api/v1/admin/services/{name}/log/follow (newline-delimited JSON, a fetch stream so the
// request carries the admin's token). Pause keeps receiving but holds the lines back; Resume shows
// them all, in order. The stream is aborted when the viewer closes or the page goes away; when the
// server ends it (an hour, or supervisord gone) the viewer follows again after a pause.
import { useEffect, useRef, useState } from "react";
import { getToken, sessionExpired } from "../auth/session";
import { readNdjson } from "../lib/ndjson";

export const LOG_LINES_KEPT = 1000;
const INITIAL_LINES = 200;
const RECONNECT_MS = 3000;

interface Entry {
  id: number;
  process: string;
  line: string;
}

type Streamed = { process?: string; line?: string; error?: string; heartbeat?: boolean };

export function LogViewer({ name, onClose }: { name: string; onClose: () => void }) {
  const [shown, setShown] = useState<Entry[]>([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const pausedRef = useRef(false);
  const pending = useRef<Entry[]>([]);
  const nextId = useRef(0);
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = true;
    const flush = (): void => {
      const batch = pending.current;
      pending.current = [];
      setHeld(0);
      if (batch.length) setShown((prev) => [...prev, ...batch].slice(-LOG_LINES_KEPT));
    };
    const receive = (value: unknown): void => {
      const entry = value as Streamed;
      if (entry.error) setProblem(entry.error);
      if (entry.line === undefined) return;
      pending.current.push({ id: nextId.current++, process: entry.process ?? name, line: entry.line });
      if (pausedRef.current) setHeld(pending.current.length);
      else flush();
    };
    const follow = async (): Promise<void> => {
      const lines = first ? INITIAL_LINES : 0;
      first = false;
      try {
        const token = getToken();
        const response = await fetch(
          `/api/v1/admin/services/${encodeURIComponent(name)}/log/follow?lines=${lines}`,
          { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal: abort.signal },
        );
        if (response.status === 401) {
          sessionExpired();
          return;
        }
        if (!response.ok || !response.body) {
          setProblem(`The log is not available (HTTP ${response.status}).`);
        } else {
          setProblem(null);
          await readNdjson(response.body, receive);
        }
      } catch {
        if (abort.signal.aborted) return;
        setProblem("The log stream was interrupted; following again…");
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void follow(), RECONNECT_MS);
    };
    void follow();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [name]);

  useEffect(() => {
    if (!paused) bottom.current?.scrollIntoView?.({ block: "nearest" });
  }, [shown, paused]);

  function togglePause(): void {
    const next = !pausedRef.current;
    pausedRef.current = next;
    setPaused(next);
    if (!next && pending.current.length) {
      const batch = pending.current;
      pending.current = [];
      setHeld(0);
      setShown((prev) => [...prev, ...batch].slice(-LOG_LINES_KEPT));
    }
  }

  return (
    <section className="card log-viewer" aria-label={`Log of ${name}`}>
      <div className="log-toolbar">
        <h2>Log: {name}</h2>
        <span className="hint" role="status">
          {paused ? `Paused${held ? ` (${held} new line${held === 1 ? "" : "s"} held)` : ""}` : "Following"}
        </span>
        <button type="button" onClick={togglePause} aria-pressed={paused}>{paused ? "Resume" : "Pause"}</button>
        <button type="button" onClick={onClose}>Close</button>
      </div>
      {problem && <p className="item-error" role="alert">{problem}</p>}
      <pre className="log-lines" tabIndex={0} aria-live="off" data-testid="log-lines">
        {shown.map((e) => (
          <div key={e.id} className="log-line">{e.process !== name ? `${e.process} | ` : ""}{e.line}</div>
        ))}
        <div ref={bottom} />
      </pre>
    </section>
  );
}
