/** --no-bell (issue 16): off when given; otherwise the saved config's "bell" decides (default on). */
import { expect, test } from "bun:test";
import { parseCommand } from "../../src/cli.ts";
import { withSaved } from "../../src/config/options.ts";

const optionsOf = (...args: string[]) => {
  const c = parseCommand(["bun", "mcchat", ...args]);
  if (c.name !== "join") throw new Error(`not a join: ${c.name}`);
  return c.options;
};

test("--no-bell turns the bell off; without it a saved bell: false still holds", () => {
  expect(optionsOf("--no-bell").bell).toBe(false);
  expect(optionsOf().bell).toBeUndefined();
  expect(withSaved({ bell: false }, optionsOf()).bell).toBe(false);
  expect(withSaved({ bell: true }, optionsOf("--no-bell")).bell).toBe(false);
});
