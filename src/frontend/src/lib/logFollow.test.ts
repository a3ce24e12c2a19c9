import { describe, expect, it } from "vitest";
import { deadAfterMs, Positions, skippedText } from "./logFollow";

describe("Positions", () => {
  it("asks for the last lines first, then resumes each process where it was", () => {
    const positions = new Positions();
    expect(positions.query(200)).toBe("lines=200");
    expect(positions.advance("worker:worker_0", "10:100")).toBe(true);
    expect(positions.advance("worker:worker_1", "11:7")).toBe(true);
    expect(positions.query(200)).toBe("lines=0&after=worker%3Aworker_0%4010%3A100&after=worker%3Aworker_1%4011%3A7");
  });

  it("never lets a line through twice, and takes a rotated file as new", () => {
    const positions = new Positions();
    positions.advance("api", "5:100");
    expect(positions.advance("api", "5:100")).toBe(false);
    expect(positions.advance("api", "5:90")).toBe(false);
    expect(positions.advance("api", "5:120")).toBe(true);
    expect(positions.advance("api", "6:10")).toBe(true);
  });
});

describe("deadAfterMs", () => {
  it("is two heartbeats and a little slack", () => {
    expect(deadAfterMs(15)).toBe(32000);
    expect(deadAfterMs(1)).toBe(4000);
    expect(deadAfterMs(undefined)).toBe(32000);
  });
});

describe("skippedText", () => {
  it("says how many lines could not be shown, and whose", () => {
    expect(skippedText("api", 1, "api")).toBe("1 line written while reconnecting could not be shown (too many).");
    expect(skippedText("worker:worker_0", 501, "worker")).toBe(
      "501 lines of worker:worker_0 written while reconnecting could not be shown (too many).");
  });
});
