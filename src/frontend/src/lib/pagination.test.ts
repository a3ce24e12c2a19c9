import { describe, expect, it } from "vitest";
import { pageNumbers, searchFromView, viewFromSearch } from "./pagination";

describe("pageNumbers", () => {
  it("shows every page when there are few", () => {
    expect(pageNumbers(1, 5)).toEqual([1, 2, 3, 4, 5]);
  });
  it("shows first, last, a window and gaps when there are many", () => {
    expect(pageNumbers(10, 20)).toEqual([1, "gap", 9, 10, 11, "gap", 20]);
  });
  it("never shows a gap standing for one page", () => {
    expect(pageNumbers(4, 20)).toEqual([1, 2, 3, 4, 5, "gap", 20]);
  });
  it("clamps a page beyond the end and handles no pages", () => {
    expect(pageNumbers(9, 3)).toEqual([1, 2, 3]);
    expect(pageNumbers(1, 0)).toEqual([]);
  });
});

describe("the items view in the URL", () => {
  it("round-trips", () => {
    const view = { page: 3, limit: 50, status: "done", q: "report <b>" };
    expect(viewFromSearch(new URLSearchParams(searchFromView(view)))).toEqual(view);
  });
  it("falls back to defaults on nonsense", () => {
    expect(viewFromSearch(new URLSearchParams("page=-2&limit=7"))).toEqual({ page: 1, limit: 25, status: "", q: "" });
  });
  it("leaves defaults out of the URL", () => {
    expect(searchFromView({ page: 1, limit: 25, status: "", q: "" })).toBe("");
  });
});
