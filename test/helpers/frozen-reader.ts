/**
 * A listener whose reader is frozen (test/net/frozen-reader.test.ts, exit-status.test.ts):
 * on h1 `mcchat --listen --json --count n > FIFO`, the FIFO's reader `cat` running in the
 * runner; on h0 a sender (--json). Once the sender sees the listener join and the reader has
 * the listener's first line, the reader is stopped (SIGSTOP) and the sender gets n numbered
 * flood lines (test/helpers/flood.ts) on stdin, which then ends.
 */
import { join } from "node:path";
import { waitFor } from "./events.ts";
import { floodInput } from "./flood.ts";
import { BINARY, type Host, type Proc, spawnLocal } from "./netns.ts";

export interface FrozenReaderRoom {
  /** Where the FIFO is made. */
  dir: string;
  group: string;
  port: number;
  /** The listener's --count, and how many flood lines the sender gets. */
  n: number;
  /** The flood lines' tag. */
  tag: string;
  /** More options for the sender. */
  senderArgs?: string[];
}

/** Starts the room; returns when the flood was given to the sender, and when the reader froze. */
export async function floodIntoFrozenReader(
  h0: Host,
  h1: Host,
  { dir, group, port, n, tag, senderArgs = [] }: FrozenReaderRoom,
): Promise<{ reader: Proc; lis: Proc; tx: Proc; frozeAt: number }> {
  const fifo = join(dir, "out");
  Bun.spawnSync(["mkfifo", fifo]);
  const room = ["-y", "-g", group, "-p", String(port)];
  // The reader opens the FIFO first; the listener's shell then opens it for writing.
  const reader = spawnLocal(["cat", fifo]);
  const lis = h1.spawn([
    "sh",
    "-c",
    `exec ${BINARY} ${room.join(" ")} --listen --json --count ${n} -n lis > ${fifo}`,
  ]);
  const tx = h0.spawn([BINARY, ...room, "--json", "-n", "tx", ...senderArgs], { stdin: "pipe" });
  await waitFor(
    () => tx.lines().some((l) => l.includes('"type":"join"') && l.includes('"nick":"lis"')),
    15_000,
    "the sender sees the listener join",
    [tx, lis, reader],
  );
  await waitFor(
    () => reader.stdout.includes('"nick":"tx"'),
    15_000,
    "the reader has the listener's first line",
    [lis, reader],
  );
  process.kill(reader.pid, "SIGSTOP");
  const frozeAt = performance.now();
  tx.write(floodInput(tag, n));
  tx.end();
  return { reader, lis, tx, frozeAt };
}
