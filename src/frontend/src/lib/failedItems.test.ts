import { describe, expect, it } from "vitest";
import { ApiError } from "../api/errors";
import { requeueAllQuestion, requeueOutcome } from "./failedItems";

describe("requeue sentences", () => {
  it("says what was requeued and what is left", () => {
    expect(requeueOutcome("items", 7, { table: "items", requeued: 1, remaining: 0 }))
      .toEqual({ ok: true, text: "Item 7 of items requeued; none still failed." });
    expect(requeueOutcome("links", null, { table: "links", requeued: 10000, remaining: 3 }))
      .toEqual({ ok: true, text: "Requeued 10000 items of links; 3 still failed." });
    expect(requeueAllQuestion("items", 1)).toBe("Requeue all 1 failed item of items?");
  });

  it("says why nothing changed", () => {
    const conflict = new ApiError(409, "conflict", "item 7 of items is pending, not failed: nothing changed");
    expect(requeueOutcome("items", 7, conflict))
      .toEqual({ ok: false, text: "Requeue of item 7 failed: item 7 of items is pending, not failed: nothing changed" });
  });
});
