import { describe, expect, it } from "vitest";
import { ApiError } from "../api/errors";
import { canStart, canStop, controlOutcome, controlQuestion } from "./control";

const PROGRAM = {
  name: "worker_0", group: "worker", state: "STOPPED", pid: null, uptime_seconds: null, description: "",
  healthy: false, problem: "", health_url: null, health: null,
};

describe("start and stop", () => {
  it("asks before acting and offers only what the state allows", () => {
    expect(controlQuestion("stop", "worker")).toBe("Stop worker?");
    expect(canStop("RUNNING") && !canStart("RUNNING")).toBe(true);
    expect(canStart("STOPPED") && !canStop("STOPPED")).toBe(true);
    expect(canStart("FATAL")).toBe(true);
  });

  it("says what happened", () => {
    expect(controlOutcome("stop", "worker:worker_0", { status: 200, program: PROGRAM }))
      .toEqual({ ok: true, text: "worker:worker_0 stopped." });
    expect(controlOutcome("start", "worker:worker_0", {
      status: 200, program: { ...PROGRAM, state: "RUNNING", pid: 7, healthy: true },
    })).toEqual({ ok: true, text: "worker:worker_0 started: RUNNING, pid 7, healthy." });
    expect(controlOutcome("start", "x", new ApiError(404, "not_found", "no program or process named x")))
      .toEqual({ ok: false, text: "Start of x failed: no program or process named x" });
  });
});
