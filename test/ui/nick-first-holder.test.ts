/**
 * Who keeps a nick plain (issue 16): the member who held it first, by nickSince (when each
 * member's view says it took the nick), ties to the lower instance id; later holders of a
 * look-alike nick get the #id suffix. Without those times every look-alike is suffixed.
 */
import { describe, expect, test } from "bun:test";
import { displayName, type Member } from "../../src/ui/format.ts";

const ANNA = "2272aaaaaaaaaaaa";
const ANDY = "9a65bbbbbbbbbbbb";
const THIRD = "11d3cccccccccccc";

describe("displayName: the first holder keeps the nick plain", () => {
  test("anna was there first; andy took `anna` later: only andy is suffixed", () => {
    const members: Member[] = [
      { id: ANNA, nick: "anna", nickSince: 1000 },
      { id: ANDY, nick: "anna", nickSince: 5000 },
    ];
    expect(displayName("anna", ANNA, members)).toBe("anna");
    expect(displayName("anna", ANDY, members)).toBe("anna#9a65");
  });

  test("the same for a look-alike (case, Cyrillic а): the later one is marked", () => {
    const members: Member[] = [
      { id: ANNA, nick: "anna", nickSince: 1000 },
      { id: ANDY, nick: "\u0430nna", nickSince: 2000 },
      { id: THIRD, nick: "ANNA", nickSince: 3000 },
    ];
    expect(displayName("anna", ANNA, members)).toBe("anna");
    expect(displayName("\u0430nna", ANDY, members)).toBe("\u0430nna#9a65");
    expect(displayName("ANNA", THIRD, members)).toBe("ANNA#11d3");
  });

  test("taken at the same moment (both there before we joined): neither can be told first, both keep the suffix", () => {
    const members: Member[] = [
      { id: ANDY, nick: "anna", nickSince: 7 },
      { id: ANNA, nick: "anna", nickSince: 7 },
    ];
    // The lower id does not win: an instance id is its sender's own choice.
    expect(displayName("anna", ANNA, members)).toBe("anna#2272");
    expect(displayName("anna", ANDY, members)).toBe("anna#9a65");
  });

  test("the first holder gone: the next one is plain again", () => {
    const members: Member[] = [
      { id: ANDY, nick: "anna", nickSince: 5000 },
      { id: THIRD, nick: "anna", nickSince: 6000 },
    ];
    expect(displayName("anna", ANDY, members)).toBe("anna");
    expect(displayName("anna", THIRD, members)).toBe("anna#11d3");
  });

  test("a time unknown (an older view, or a member that already left): both suffixed", () => {
    const members: Member[] = [
      { id: ANNA, nick: "anna" },
      { id: ANDY, nick: "anna", nickSince: 5000 },
    ];
    expect(displayName("anna", ANNA, members)).toBe("anna#2272");
    expect(displayName("anna", ANDY, members)).toBe("anna#9a65");
    // A line from a member no longer present, while a holder is.
    expect(displayName("anna", THIRD, members)).toBe("anna#11d3");
  });

  test("suffixes stay long enough to tell the later holders apart", () => {
    const members: Member[] = [
      { id: ANNA, nick: "anna", nickSince: 1 },
      { id: "9a65000000000001", nick: "anna", nickSince: 2 },
      { id: "9a65000000000002", nick: "anna", nickSince: 3 },
    ];
    expect(displayName("anna", "9a65000000000001", members)).toBe("anna#9a65000000000001");
    expect(displayName("anna", "9a65000000000002", members)).toBe("anna#9a65000000000002");
    expect(displayName("anna", ANNA, members)).toBe("anna");
  });
});
