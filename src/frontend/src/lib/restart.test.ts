import { describe, expect, it } from "vitest";
import { ApiError, unreachableError } from "../api/errors";
import { confirmQuestion, programLabel, restartOutcome } from "./restart";

const PROGRAM = {
  name: "sleeper", group: "sleeper", state: "RUNNING", pid: 4242, uptime_seconds: 0, description: "",
  healthy: true, problem: "", health_url: null, health: null,
};

describe("restart", () => {
  it("names a program inside a group as group:name, a lone program by its name", () => {
    expect(programLabel({ group: "worker", name: "worker_0" })).toBe("worker:worker_0");
    expect(programLabel({ group: "api", name: "api" })).toBe("api");
    expect(confirmQuestion("api")).toBe("Restart api?");
  });

  it("says what a restarted program is doing now", () => {
    expect(restartOutcome("sleeper", { status: 200, program: PROGRAM }))
      .toEqual({ ok: true, text: "sleeper restarted: RUNNING, pid 4242, healthy." });
    expect(restartOutcome("broken", {
      status: 200, program: { ...PROGRAM, name: "broken", state: "FATAL", pid: null, healthy: false, problem: "Exited too quickly" },
    })).toEqual({ ok: false, text: "broken restarted but is FATAL, unhealthy: Exited too quickly." });
    expect(restartOutcome("api", { status: 202, program: PROGRAM }).text)
      .toBe("api is restarting in the background; the list updates when it is back.");
  });

  it("says why a restart failed", () => {
    const error = new ApiError(503, "unavailable", "supervisord unreachable: no socket");
    expect(restartOutcome("sleeper", error))
      .toEqual({ ok: false, text: "Restart of sleeper failed: supervisord unreachable: no socket" });
    expect(restartOutcome("frontend", unreachableError()).text)
      .toBe("Lost the connection during the restart of frontend; the list shows its state.");
  });
});
