import { describe, expect, it } from "vitest";
import { addSample, chartColumns, historyColumns, throughput, timeRange, valueRange, type Sample } from "./queueSeries";

function sample(t: number, finished: number, pending = 0): Sample {
  return { t, finished, counts: { pending, processing: 0, done: finished, failed: 0 } };
}

describe("queue series", () => {
  it("keeps only the window and ignores a snapshot no newer than the last", () => {
    let samples: Sample[] = [];
    samples = addSample(samples, sample(0, 0));
    samples = addSample(samples, sample(100, 10));
    samples = addSample(samples, sample(100, 10));
    expect(samples).toHaveLength(2);
    samples = addSample(samples, sample(400, 20));
    expect(samples.map((s) => s.t)).toEqual([100, 400]);
  });

  it("gives throughput as finished items per second between samples", () => {
    expect(throughput([sample(0, 0), sample(2, 10), sample(4, 10), sample(6, 4)])).toEqual([null, 5, 0, null]);
  });

  it("lays the data out in columns: time, four statuses, throughput", () => {
    const columns = chartColumns([sample(0, 0, 3), sample(1, 2, 1)]);
    expect(columns).toHaveLength(6);
    expect(columns[0]).toEqual([0, 1]);
    expect(columns[1]).toEqual([3, 1]);
    expect(columns[5]).toEqual([null, 2]);
  });
});

describe("queue history", () => {
  const point = (at: number, pending: number, done: number | null) => ({
    at, pending, processing: 1, done: 0, failed: 0, done_per_minute: done, failed_per_minute: done === null ? null : 0,
  });

  it("lays the history out: time, pending, in flight, done/min, failed/min", () => {
    expect(historyColumns([point(60, 3, null), point(120, 1, 4)])).toEqual([
      [60, 120], [3, 1], [1, 1], [null, 4], [null, 0],
    ]);
  });

  it("spans the asked window even with one sample (no axis guessed from a single point)", () => {
    expect(timeRange(1_000, 4_600)).toEqual([1_000, 4_600]);
    expect(timeRange(4_600, 4_600)).toEqual([4_540, 4_600]);
  });

  it("gives each value axis its own range from 0", () => {
    expect(valueRange([null, 2, 9])).toEqual([0, 10]);
    expect(valueRange([null])).toEqual([0, 2]);
    expect(valueRange([0, 0])).toEqual([0, 2]);
  });
});
