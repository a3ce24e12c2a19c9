// The queue chart's data: snapshots of GET /api/v1/admin/queue kept for a window of time, turned
// into one series per status and a throughput series (finished items per second between two
// snapshots). Pure functions, so the chart component only draws.
import type { HistoryPoint, QueueSnapshot } from "../api/types";

export const QUEUE_WINDOW_SECONDS = 5 * 60;
export const SERIES = ["pending", "processing", "done", "failed"] as const;

export interface Sample {
  t: number; // seconds since the epoch (the server's clock)
  counts: Record<(typeof SERIES)[number], number>;
  finished: number;
}

export function toSample(snapshot: QueueSnapshot): Sample {
  return { t: Date.parse(snapshot.at) / 1000, counts: { ...snapshot.counts }, finished: snapshot.finished };
}

/** Add a sample (ignoring one no newer than the last: a cached snapshot) and drop the old ones. */
export function addSample(samples: readonly Sample[], next: Sample, window = QUEUE_WINDOW_SECONDS): Sample[] {
  const last = samples.at(-1);
  if (last && next.t <= last.t) return [...samples];
  return [...samples, next].filter((s) => s.t >= next.t - window);
}

/** Finished items per second between consecutive samples (null for the first, or after deletes). */
export function throughput(samples: readonly Sample[]): (number | null)[] {
  return samples.map((s, i) => {
    if (i === 0) return null;
    const prev = samples[i - 1];
    const done = s.finished - prev.finished;
    return done >= 0 ? done / (s.t - prev.t) : null;
  });
}

/** uPlot's columnar data: x (time), one column per status, then throughput. */
export function chartColumns(samples: readonly Sample[]): (number | null)[][] {
  return [
    samples.map((s) => s.t),
    ...SERIES.map((name) => samples.map((s) => s.counts[name])),
    throughput(samples),
  ];
}

/** The chart's spans (GET /api/v1/admin/queue/history?hours=): the last hour to the last week. */
export const HISTORY_SPANS = [
  { hours: 1, label: "1 hour" },
  { hours: 6, label: "6 hours" },
  { hours: 24, label: "24 hours" },
  { hours: 168, label: "7 days" },
] as const;

/** The chart's series from the server's history: pending and in flight on one scale (items), done
 * and failed as rates per minute on another, so a small backlog is not flattened by a running total. */
export const HISTORY_SERIES = [
  { key: "pending", label: "pending", scale: "items" },
  { key: "processing", label: "in flight", scale: "items" },
  { key: "done_per_minute", label: "done/min", scale: "rate" },
  { key: "failed_per_minute", label: "failed/min", scale: "rate" },
] as const;

/** uPlot's columnar data from the history: x (epoch seconds), then HISTORY_SERIES in order. */
export function historyColumns(points: readonly HistoryPoint[]): (number | null)[][] {
  return [points.map((p) => p.at), ...HISTORY_SERIES.map(({ key }) => points.map((p) => p[key] ?? null))];
}

/** The x axis always spans the asked window (never a range uPlot guesses from one point, which
 * labelled a first sample's axis with years). */
export function timeRange(since: number, until: number): [number, number] {
  return until > since ? [since, until] : [until - 60, until];
}

/** A value axis from 0 to a little above the largest value (at least `least`), never upside down. */
export function valueRange(values: readonly (number | null)[], least = 1): [number, number] {
  const most = Math.max(least, ...values.filter((v): v is number => v !== null && Number.isFinite(v)));
  return [0, Math.ceil(most * 1.1)];
}
