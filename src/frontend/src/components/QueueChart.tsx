// The queue at a glance: items by status and throughput (items/s) over the last minutes, and every
// queue table of the stack (a team's `links` too) by status in a table below, from
// GET /api/v1/admin/queue every QUEUE_REFRESH_MS. Drawn with uPlot: a canvas time-series chart of
// about 20 KiB gzip (Chart.js is about 70, ECharts several hundred), loaded with the Services page
// only, so the items page's bundle does not grow. The numbers are also given as text, for screen
// readers and for tests.
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api, call } from "../api/client";
import { ErrorState } from "./ErrorState";
import { addSample, chartColumns, QUEUE_WINDOW_SECONDS, SERIES, throughput, toSample, type Sample } from "../lib/queueSeries";
import { useResource } from "../lib/useResource";
import type { QueueSnapshot } from "../api/types";

export const QUEUE_REFRESH_MS = 2000;
const COLOURS = { pending: "#5a6475", processing: "#1f5fbf", done: "#1b7f3b", failed: "#b3261e" };

function chartOptions(width: number): uPlot.Options {
  return {
    width,
    height: 220,
    scales: { x: { time: true }, rate: { auto: true } },
    axes: [{}, { label: "items" }, { side: 1, scale: "rate", label: "items/s", grid: { show: false } }],
    series: [
      {},
      ...SERIES.map((name) => ({ label: name, stroke: COLOURS[name], width: 2 })),
      { label: "items/s", stroke: "#f0b400", width: 2, dash: [6, 4], scale: "rate" },
    ],
  };
}

/** `reportErrors`: false while the page already says the API is not answering (one alert, not two). */
export function QueueChart({ reportErrors = true }: { reportErrors?: boolean }) {
  const [samples, setSamples] = useState<Sample[]>([]);
  const queue = useResource("queue", async () => {
    const snapshot = await call(api.GET("/api/v1/admin/queue"));
    setSamples((prev) => addSample(prev, toSample(snapshot)));
    return snapshot;
  }, () => QUEUE_REFRESH_MS);
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = host.current;
    // No 2D canvas (a test DOM, or a browser with canvas blocked): the counts above still show.
    if (!el || !document.createElement("canvas").getContext("2d")) return;
    const width = Math.max(280, el.clientWidth);
    plot.current = new uPlot(chartOptions(width), chartColumns([]) as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(chartColumns(samples) as uPlot.AlignedData);
  }, [samples]);

  const last = samples.at(-1);
  const rate = throughput(samples).at(-1);
  return (
    <section className="card" aria-labelledby="queue-heading">
      <h2 id="queue-heading">Queue</h2>
      <p className="hint">Items by status and throughput over the last {QUEUE_WINDOW_SECONDS / 60} minutes, every {QUEUE_REFRESH_MS / 1000} s.</p>
      {reportErrors && queue.error !== null && queue.error !== undefined && <ErrorState error={queue.error} onRetry={queue.reload} />}
      <dl className="queue-counts" data-testid="queue-counts">
        {SERIES.map((name) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd data-status={name}>{last ? last.counts[name] : "—"}</dd>
          </div>
        ))}
        <div>
          <dt>items/s</dt>
          <dd data-status="rate">{rate === null || rate === undefined ? "—" : rate.toFixed(1)}</dd>
        </div>
      </dl>
      <div ref={host} className="queue-chart" role="img" aria-label="Chart of items by status and throughput" />
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
