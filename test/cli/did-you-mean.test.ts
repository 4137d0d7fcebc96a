import { expect, test } from "bun:test";
import { HELP_WIDTH, helpColumns, joinNegativeValues } from "../../src/cli.ts";
import { didYouMean, editDistance } from "../../src/did-you-mean.ts";
import { historyAsked } from "../../src/join.ts";

test("a swapped pair of letters is one edit; far names are not suggested", () => {
  expect(editDistance("histroy", "history")).toBe(1);
  expect(didYouMean("--histroy", ["--group", "--history", "--heartbeat"])).toBe("--history");
  expect(didYouMean("--frobnicate", ["--group", "--history"])).toBeUndefined();
  expect(didYouMean("docter", ["setup", "doctor", "replay"])).toBe("doctor");
});

test("a negative number after a numeric option is its value", () => {
  expect(joinNegativeValues(["--ttl", "-1", "-p", "-5", "-y"])).toEqual([
    "--ttl=-1",
    "--port=-5",
    "-y",
  ]);
  // Not after other options, nor after --.
  expect(joinNegativeValues(["-n", "-1", "--", "--ttl", "-1"])).toEqual([
    "-n",
    "-1",
    "--",
    "--ttl",
    "-1",
  ]);
});

test("help columns wrap to the help width", () => {
  const text = helpColumns([["--long-option <value>", "word ".repeat(40).trim()]]);
  for (const line of text.split("\n")) expect(line.length).toBeLessThanOrEqual(HELP_WIDTH);
  expect(text.split("\n")[1]).toStartWith(" ".repeat(2 + "--long-option <value>".length + 2));
});

test("history over the cap is asked as the cap, and said", () => {
  expect(historyAsked(20, 50)).toEqual({ count: 20 });
  expect(historyAsked(500, 50)).toEqual({
    count: 50,
    note: "history is limited to 50 messages; asking for 50",
  });
});
