import { expect, test } from "bun:test";
import type { SessionEvent } from "../../src/session/events.ts";
import { makeColors } from "../../src/ui/colors.ts";
import { formatJson, formatPlain } from "../../src/ui/format.ts";
import { parseTranscriptLine } from "../../src/ui/replay.ts";

const plain = makeColors({ env: {}, isTTY: false });
const time = new Date(2026, 0, 2, 10, 11, 12);
const info: SessionEvent = { type: "info", time, text: "classic programs here use GBK" };

test("an info event is one quiet `--` line (not a warning), as JSON a typed line", () => {
  expect(formatPlain(info, plain)).toEqual(["10:11:12 -- classic programs here use GBK"]);
  const json = formatJson(info);
  expect(JSON.parse(json)).toEqual({
    type: "info",
    time: time.toISOString(),
    text: "classic programs here use GBK",
  });
  // A transcript holding it replays.
  expect(parseTranscriptLine(json)).toEqual(info);
});
