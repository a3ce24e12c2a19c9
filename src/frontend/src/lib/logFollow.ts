// Following a log without gaps or repeats (GET /api/v1/admin/services/{name}/log/follow): every line
// and every mark carries its process's position ("inode:offset", just after the line); a reconnect
// asks for `after=PROCESS@POSITION` of each process and gets every line written since, once. A
// stream that sends nothing (not even its heartbeat) for two heartbeats is dead, even if a proxy
// keeps the connection open. Pure: unit-tested in logFollow.test.ts.

export type Streamed = {
  process?: string;
  line?: string;
  position?: string;
  heartbeat?: boolean;
  interval?: number;
  skipped?: number;
  error?: string;
  status?: number;
};

export const DEFAULT_HEARTBEAT_SECONDS = 15;
const SLACK_MS = 2000;

/** Milliseconds of silence after which the stream counts as dead: two missed heartbeats. */
export function deadAfterMs(heartbeatSeconds: number | undefined): number {
  const interval = heartbeatSeconds && heartbeatSeconds > 0 ? heartbeatSeconds : DEFAULT_HEARTBEAT_SECONDS;
  return 2 * interval * 1000 + SLACK_MS;
}

function parse(position: string): [number, number] | null {
  const match = /^(\d+):(\d+)$/.exec(position);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** Where each process of a followed log was last seen. */
export class Positions {
  private readonly at = new Map<string, string>();

  /** Records the position of a line or mark; false for a line already shown (never shown twice). */
  advance(process: string, position: string): boolean {
    const known = this.at.get(process);
    const next = parse(position);
    if (known !== undefined && next !== null) {
      const prev = parse(known);
      // Same file, not further: seen already. Another file (rotated) is always new.
      if (prev !== null && prev[0] === next[0] && next[1] <= prev[1]) return false;
    }
    this.at.set(process, position);
    return true;
  }

  get size(): number {
    return this.at.size;
  }

  /** The query of the next follow request: the last lines at first, then resume where it was. */
  query(initialLines: number): string {
    const params = new URLSearchParams();
    if (this.at.size === 0) {
      params.set("lines", String(initialLines));
    } else {
      params.set("lines", "0");
      for (const [process, position] of this.at) params.append("after", `${process}@${position}`);
    }
    return params.toString();
  }
}

export function skippedText(process: string, skipped: number, name: string): string {
  const whose = process !== name ? ` of ${process}` : "";
  return `${skipped} line${skipped === 1 ? "" : "s"}${whose} written while reconnecting could not be shown (too many).`;
}
