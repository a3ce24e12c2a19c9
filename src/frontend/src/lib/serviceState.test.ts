import { describe, expect, it } from "vitest";
import { healthBadge, stateBadge, summary, updatedAgo } from "./serviceState";

const running = { state: "RUNNING", healthy: true, problem: "", description: "pid 7, uptime 0:00:05" };
const stopped = { state: "STOPPED", healthy: false, problem: "Dec 07 03:12 AM", description: "Dec 07 03:12 AM" };
const fatal = { state: "FATAL", healthy: false, problem: "Exited too quickly", description: "Exited too quickly" };

describe("healthBadge", () => {
  it("shows a program stopped on purpose as stopped, grey, not unhealthy", () => {
    expect(healthBadge(stopped, false)).toEqual({
      text: "Stopped", className: "badge-pending", detail: "stopped on purpose since Dec 07 03:12 AM" });
    expect(healthBadge({ ...stopped, description: "Not started" }, false).detail).toBe("not started");
  });

  it("says unhealthy with the reason, healthy when healthy", () => {
    expect(healthBadge(fatal, false)).toEqual({ text: "Unhealthy", className: "badge-failed", detail: "Exited too quickly" });
    expect(healthBadge(running, false).text).toBe("Healthy");
  });

  it("does not claim any health for a row it could not refresh", () => {
    expect(healthBadge(running, true)).toEqual({ text: "Unknown", className: "badge-stale", detail: "" });
    expect(stateBadge("RUNNING", true)).toEqual({ text: "RUNNING", className: "badge-stale", detail: "last known" });
  });
});

describe("summary", () => {
  it("does not count a stopped program as needing attention, but says it is stopped", () => {
    expect(summary("RUNNING", [running, stopped])).toEqual({ ok: true, text: "supervisord RUNNING: all running programs healthy; 1 stopped" });
    expect(summary("RUNNING", [running, fatal, stopped])).toEqual({ ok: false, text: "supervisord RUNNING: 1 program(s) need attention; 1 stopped" });
    expect(summary("RUNNING", [running])).toEqual({ ok: true, text: "supervisord RUNNING: all programs healthy" });
  });
});

describe("updatedAgo", () => {
  it("counts seconds, then minutes", () => {
    expect(updatedAgo(10_000, 10_500)).toBe("updated just now");
    expect(updatedAgo(10_000, 52_000)).toBe("updated 42 s ago");
    expect(updatedAgo(0, 300_000)).toBe("updated 5 min ago");
  });
});
