// A program's log, followed live: the last lines, then each new one once, from
// GET /api/v1/admin/services/{name}/log/follow (newline-delimited JSON, a fetch stream so the
// request carries the admin's token). Pause keeps receiving but holds the lines back; Resume shows
// them all, in order. The stream is aborted when the viewer closes or the page goes away.
//
// When the stream ends (the API restarting, an hour passed, supervisord gone) or goes silent for two
// heartbeats (a dead API behind a proxy that keeps the connection open), the viewer says so and
// follows again from the last position it saw (lib/logFollow.ts): the lines written meanwhile come
// once, or it says how many could not be shown.
//
// Search filters the loaded lines (at most LOG_LINES_KEPT, case-insensitive, as typed) and says how
// many match; Download saves the process's current log file (GET .../log/download: its last
// API_LOG_DOWNLOAD_MAX_BYTES). `host`: a program of another host of SUPERVISOR_SERVERS.
import { useEffect, useRef, useState } from "react";
import { getToken, sessionExpired } from "../auth/session";
import { deadAfterMs, Positions, skippedText, type Streamed } from "../lib/logFollow";
import { readNdjson } from "../lib/ndjson";

export const LOG_LINES_KEPT = 1000;
const INITIAL_LINES = 200;
const RECONNECT_MS = 2000;

interface Entry {
  id: number;
  process: string;
  line: string;
  gap?: boolean;
}

type Connection = "connecting" | "following" | "reconnecting" | "stopped";

/** The lines holding `query` (case-insensitive); all of them for an empty query. */
export function matching<T extends { line: string; process: string }>(entries: readonly T[], query: string): T[] {
  const wanted = query.trim().toLowerCase();
  if (!wanted) return [...entries];
  return entries.filter((e) => e.line.toLowerCase().includes(wanted) || e.process.toLowerCase().includes(wanted));
}

/** The log file through the API (the request carries the token), saved by the browser. */
async function download(name: string, host: string | undefined, say: (text: string) => void): Promise<void> {
  const token = getToken();
  const query = host === undefined ? "" : `?host=${encodeURIComponent(host)}`;
  let response: Response;
  try {
    response = await fetch(`/api/v1/admin/services/${encodeURIComponent(name)}/log/download${query}`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  } catch {
    say("The download failed: the API did not answer.");
    return;
  }
  if (response.status === 401) {
    sessionExpired();
    return;
  }
  if (!response.ok) {
    let why = `HTTP ${response.status}`;
    try {
      why = ((await response.json()) as { error?: { message?: string } }).error?.message ?? why;
    } catch { /* not JSON: the status says enough */ }
    say(`The download failed: ${why}`);
    return;
  }
  const blob = await response.blob();
  const filename = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? `${name}.log`;
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  say(response.headers.get("x-log-truncated") === "true"
    ? `Downloaded the last ${Math.round(blob.size / 1024)} KiB of ${filename} (the file is larger).`
    : `Downloaded ${filename}.`);
}

export function LogViewer({ name, host, onClose }: { name: string; host?: string; onClose: () => void }) {
  const [query, setQuery] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const [shown, setShown] = useState<Entry[]>([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState(0);
  // A problem the admin must hear about (role=alert), or a passing one (the stream reconnecting: the
  // page may already say the API is not answering, so this is not a second alert).
  const [problem, setProblem] = useState<{ text: string; alert: boolean } | null>(null);
  const [connection, setConnection] = useState<Connection>("connecting");
  const pausedRef = useRef(false);
  const pending = useRef<Entry[]>([]);
  const nextId = useRef(0);
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const stop = new AbortController();
    const positions = new Positions();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = (): void => {
      const batch = pending.current;
      pending.current = [];
      setHeld(0);
      if (batch.length) setShown((prev) => [...prev, ...batch].slice(-LOG_LINES_KEPT));
    };
    const show = (entry: Omit<Entry, "id">): void => {
      pending.current.push({ id: nextId.current++, ...entry });
      if (pausedRef.current) setHeld(pending.current.length);
      else flush();
    };
    const receive = (entry: Streamed): void => {
      if (entry.error) setProblem({ text: entry.error, alert: true });
      const process = entry.process ?? name;
      if (entry.skipped) {
        const text = skippedText(process, entry.skipped, name);
        setProblem({ text, alert: true });
        show({ process: name, line: `[${text}]`, gap: true });
      }
      if (entry.position !== undefined && !positions.advance(process, entry.position)) return;
      if (entry.line !== undefined) show({ process, line: entry.line });
    };
    const follow = async (): Promise<void> => {
      const attempt = new AbortController();
      const abortAttempt = (): void => attempt.abort();
      stop.signal.addEventListener("abort", abortAttempt);
      let deadMs = deadAfterMs(undefined);
      let silent = false;
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      const arm = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          silent = true;
          attempt.abort();
        }, deadMs);
      };
      let again = true;
      try {
        arm(); // also bounds a request that is never answered
        const token = getToken();
        const response = await fetch(
          `/api/v1/admin/services/${encodeURIComponent(name)}/log/follow?${positions.query(INITIAL_LINES)}${
            host === undefined ? "" : `&host=${encodeURIComponent(host)}`}`,
          { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal: attempt.signal },
        );
        if (response.status === 401) {
          sessionExpired();
          return;
        }
        if (!response.ok || !response.body) {
          again = response.status >= 500 || response.status === 429;
          setProblem({ text: `The log is not available (HTTP ${response.status})${again ? "; trying again…" : "."}`, alert: !again });
        } else {
          setConnection("following");
          setProblem(null);
          await readNdjson(response.body, (value) => {
            const entry = value as Streamed;
            if (entry.heartbeat && entry.interval) deadMs = deadAfterMs(entry.interval);
            arm();
            receive(entry);
          });
        }
      } catch {
        if (stop.signal.aborted) return;
        setProblem({
          text: silent
            ? `No word from the log stream for ${Math.round(deadMs / 1000)} s; following again…`
            : "The log stream was interrupted; following again…",
          alert: false,
        });
      } finally {
        clearTimeout(watchdog);
        stop.signal.removeEventListener("abort", abortAttempt);
      }
      if (stop.signal.aborted) return;
      if (!again) {
        setConnection("stopped");
        return;
      }
      setConnection("reconnecting");
      timer = setTimeout(() => void follow(), RECONNECT_MS);
    };
    void follow();
    return () => {
      stop.abort();
      clearTimeout(timer);
    };
  }, [name, host]);

  useEffect(() => {
    if (!paused && !query) bottom.current?.scrollIntoView?.({ block: "nearest" });
  }, [shown, paused, query]);

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

  const title = host === undefined ? name : `${name} on ${host}`;
  const visible = matching(shown.filter((e) => !e.gap || !query), query);
  const state = { connecting: "Connecting…", following: "Following", reconnecting: "Reconnecting…", stopped: "Stopped" }[connection];
  return (
    <section className="card log-viewer" aria-label={`Log of ${title}`}>
      <div className="log-toolbar">
        <h2>Log: {title}</h2>
        <span className="hint" role="status" data-testid="log-state">
          {paused ? `Paused${held ? ` (${held} new line${held === 1 ? "" : "s"} held)` : ""}` : state}
        </span>
        <button type="button" onClick={togglePause} aria-pressed={paused}>{paused ? "Resume" : "Pause"}</button>
        <button type="button" onClick={() => void download(name, host, setSaved)}>Download</button>
        <button type="button" onClick={onClose}>Close</button>
      </div>
      <div className="log-search">
        <label>
          Search loaded lines{" "}
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>{" "}
        {query.trim() && (
          <span className="hint" role="status" data-testid="log-matches">
            {visible.length} of {shown.length} line{shown.length === 1 ? "" : "s"} match
          </span>
        )}
        {saved && <span className="hint" role="status" data-testid="log-download">{saved}</span>}
      </div>
      {problem && (problem.alert
        ? <p className="item-error" role="alert">{problem.text}</p>
        : <p className="hint" data-testid="log-problem">{problem.text}</p>)}
      <pre className="log-lines" tabIndex={0} role="log" aria-label={`Lines of ${name}`} aria-live="off"
           data-testid="log-lines">
        {visible.map((e) => (
          <div key={e.id} className={e.gap ? "log-line log-gap" : "log-line"}>
            {!e.gap && e.process !== name ? `${e.process} | ` : ""}{e.line}
          </div>
        ))}
        <div ref={bottom} />
      </pre>
    </section>
  );
}
