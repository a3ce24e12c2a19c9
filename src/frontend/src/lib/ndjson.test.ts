import { describe, expect, it } from "vitest";
import { readNdjson } from "./ndjson";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

describe("readNdjson", () => {
  it("parses each line once, across chunk boundaries", async () => {
    const values: unknown[] = [];
    await readNdjson(streamOf('{"line":"a"}\n{"li', 'ne":"b"}\n', '\n{"line":"c"}'), (v) => values.push(v));
    expect(values).toEqual([{ line: "a" }, { line: "b" }, { line: "c" }]);
  });
});
