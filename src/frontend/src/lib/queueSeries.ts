// The queue chart's data: snapshots of GET /api/v1/admin/queue kept for a window of time, turned
// into one series per status and a throughput series (finished items per second between two
// snapshots). Pure functions, so the chart component only draws.
import type { QueueSnapshot } from "../api/types";

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
