// The queue at a glance: its counts now (GET /api/v1/admin/queue every QUEUE_REFRESH_MS, every queue
// table by status in a table below), and its history from the server
// (GET /api/v1/admin/queue/history, sampled by the health listener, so it survives a reload):
// pending and in flight on the left axis (items), done and failed as rates per minute on the right,
// over a chosen span (an hour to a week; at most 360 points, the server downsamples). Drawn with
// uPlot (a canvas time-series chart of about 20 KiB gzip, loaded with the Services page only); the
// legend is static (colour and name, no "--" while the pointer is elsewhere) and the numbers are
// also given as text, for screen readers and for tests.
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api, call } from "../api/client";
import { ErrorState } from "./ErrorState";
import {
  addSample, HISTORY_SERIES, HISTORY_SPANS, historyColumns, SERIES, throughput, timeRange, toSample, valueRange,
  type Sample,
} from "../lib/queueSeries";
import { useResource } from "../lib/useResource";
import type { QueueHistory, QueueSnapshot } from "../api/types";

export const QUEUE_REFRESH_MS = 2000;
export const HISTORY_REFRESH_MS = 15_000;
const HEIGHT = 220;
const COLOURS: Record<(typeof HISTORY_SERIES)[number]["key"], string> = {
  pending: "#5a6475",
  processing: "#1f5fbf",
  done_per_minute: "#1b7f3b",
  failed_per_minute: "#b3261e",
};

function chartOptions(width: number, history: QueueHistory | null): uPlot.Options {
  const [since, until] = history ? timeRange(history.since, history.until) : timeRange(0, Date.now() / 1000);
  const columns = history ? historyColumns(history.points) : [];
  return {
    width,
    height: HEIGHT,
    legend: { live: false },
    scales: {
      x: { time: true, range: () => [since, until] },
      items: { range: () => valueRange([...(columns[1] ?? []), ...(columns[2] ?? [])]) },
      rate: { range: () => valueRange([...(columns[3] ?? []), ...(columns[4] ?? [])]) },
    },
    axes: [
      {},
      { scale: "items", label: "items (pending, in flight)" },
      { scale: "rate", side: 1, label: "per minute (done, failed)", grid: { show: false } },
    ],
    series: [
      {},
      ...HISTORY_SERIES.map(({ key, label, scale }) => ({
        label,
        scale,
        stroke: COLOURS[key],
        width: 2,
        ...(scale === "rate" ? { dash: [6, 4] } : {}),
        spanGaps: false,
      })),
    ],
  };
}

/** `reportErrors`: false while the page already says the API is not answering (one alert, not two). */
export function QueueChart({ reportErrors = true }: { reportErrors?: boolean }) {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [hours, setHours] = useState<number>(1);
  const [queueName, setQueueName] = useState("items");
  const queue = useResource("queue", async () => {
    const snapshot: QueueSnapshot = await call(api.GET("/api/v1/admin/queue"));
    setSamples((prev) => addSample(prev, toSample(snapshot)));
    return snapshot;
  }, () => QUEUE_REFRESH_MS);
  const history = useResource(`queue-history:${queueName}:${hours}`, () =>
    call(api.GET("/api/v1/admin/queue/history", { params: { query: { hours, queue: queueName } } })),
  () => HISTORY_REFRESH_MS);
  const data: QueueHistory | null = history.data && Array.isArray(history.data.points) ? history.data : null;
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = host.current;
    // No 2D canvas (a test DOM, or a browser with canvas blocked): the counts above still show.
    if (!el || !document.createElement("canvas").getContext("2d")) return;
    const width = Math.max(280, el.clientWidth);
    // Made again for new data: the scales' ranges follow the window asked for and its values.
    plot.current = new uPlot(chartOptions(width, data), historyColumns(data?.points ?? []) as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [data]);

  const last = samples.at(-1);
  const rate = throughput(samples).at(-1);
  const points = data?.points ?? [];
  const newest = points.at(-1);
  const queues = data?.queues.length ? data.queues : [queueName];
  return (
    <section className="card" aria-labelledby="queue-heading">
      <h2 id="queue-heading">Queue</h2>
      <p className="hint">Counts now, every {QUEUE_REFRESH_MS / 1000} s; the chart is the server's history (kept across reloads).</p>
      {reportErrors && queue.error !== null && queue.error !== undefined && <ErrorState error={queue.error} onRetry={queue.reload} />}
      <dl className="queue-counts" data-testid="queue-counts">
        {SERIES.map((name) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd data-status={name}>{last ? last.counts[name] : "—"}</dd>
          </div>
        ))}
        <div>
          <dt>finished/min</dt>
          <dd data-status="rate">{rate === null || rate === undefined ? "—" : (rate * 60).toFixed(1)}</dd>
        </div>
      </dl>
      <div className="queue-history-controls">
        <label>
          Span{" "}
          <select value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {HISTORY_SPANS.map((s) => <option key={s.hours} value={s.hours}>{s.label}</option>)}
          </select>
        </label>{" "}
        <label>
          Queue{" "}
          <select value={queueName} onChange={(e) => setQueueName(e.target.value)}>
            {queues.map((q) => <option key={q} value={q}>{q}</option>)}
          </select>
        </label>{" "}
        <span className="hint" data-testid="queue-history-summary">
          {data === null
            ? history.error !== null ? "History not available." : "Loading the history…"
            : points.length === 0
              ? "No samples in this span yet (the health listener takes one every " + `${data.interval_seconds} s).`
              : `${points.length} point${points.length === 1 ? "" : "s"}, one per ${data.bucket_seconds} s` +
                (newest ? `; last: ${newest.pending} pending, ${newest.processing} in flight` +
                  `${newest.done_per_minute !== null ? `, ${newest.done_per_minute} done/min` : ""}.` : ".")}
        </span>
      </div>
      <div ref={host} className="queue-chart" role="img"
           aria-label="Chart of the queue's history: pending and in flight (items), done and failed per minute" />
      <QueueTables queues={queue.data?.queues ?? []} />
    </section>
  );
}

type QueueTable = NonNullable<QueueSnapshot["queues"]>[number];

/** Every queue table by status (GET /api/v1/admin/queue's `queues`), items first. */
function QueueTables({ queues }: { queues: readonly QueueTable[] }) {
  if (queues.length === 0) return null;
  return (
    <table className="queue-tables" data-testid="queue-tables">
      <caption>Every queue table, rows by status</caption>
      <thead>
        <tr>
          <th scope="col">queue</th>
          {SERIES.map((name) => <th scope="col" key={name}>{name}</th>)}
          <th scope="col">total</th>
        </tr>
      </thead>
      <tbody>
        {queues.map((q) => (
          <tr key={q.table} data-queue={q.table}>
            <th scope="row">{q.table}</th>
            {SERIES.map((name) => <td key={name} data-status={name}>{q.counts[name]}</td>)}
            <td data-status="total">{q.total}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
