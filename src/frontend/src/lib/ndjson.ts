// Newline-delimited JSON from a streamed response body: each complete line parsed as it arrives,
// an unfinished last line kept until the next chunk completes it.
export async function readNdjson(
  body: ReadableStream<Uint8Array>,
  onValue: (value: unknown) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let partial = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    partial += decoder.decode(value, { stream: true });
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onValue(JSON.parse(line));
  }
  if (partial.trim()) onValue(JSON.parse(partial));
}
