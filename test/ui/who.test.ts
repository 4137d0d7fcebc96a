import { describe, expect, test } from "bun:test";
import pc from "picocolors";
import type { MemberInfo } from "../../src/session/member-info.ts";
import { LastSpoke, shortIdle, WHO_LIST_MAX, whoCommand, whoListing } from "../../src/ui/who.ts";

const plain = pc.createColors(false);
const NOW = 1_000_000;
const member = (n: number, nick: string): MemberInfo => ({
  id: n.toString(16).padStart(16, "0"),
  nick,
  from: `198.18.0.${n % 250}:25000`,
  lastSeen: NOW - 1000,
  self: n === 0,
});

describe("whoListing", () => {
  test("40 members fit an 80x24 screen, names in columns", () => {
    const members = [
      member(0, "teacher"),
      ...Array.from({ length: 39 }, (_, i) => member(i + 1, `student${i + 1}`)),
    ];
    const lines = whoListing(members, {
      now: NOW,
      colors: plain,
      spokeAt: (id) => (id === members[5]?.id ? NOW - 125_000 : undefined),
      columns: 77, // the chat's width less its "-- " lead
      rows: 24,
    });
    // With the room line and the prompt, within 24 rows; none wider than 80 (with "-- ").
    expect(lines.length + 2).toBeLessThanOrEqual(24);
    for (const l of lines) expect(Bun.stringWidth(`-- ${l}`)).toBeLessThanOrEqual(80);
    expect(lines[0]).toBe("40 members (idle since the last message):");
    const text = lines.join("\n");
    for (const m of members) expect(text).toContain(m.nick);
    expect(text).toMatch(/student5 +2m/);
    expect(text).toMatch(/teacher +you/);
  });

  test("CJK nicks keep the columns aligned by display width", () => {
    const nicks = ["小明", "alice", "王小红", "bob", "李雷雷雷", "carol"];
    const members = [member(0, "me"), ...nicks.map((n, i) => member(i + 1, n))];
    const o = { now: NOW, colors: plain, spokeAt: () => NOW - 4000 };
    // One line per member: the address column starts at one display column on every line.
    const long = whoListing(members, { ...o, columns: 80, rows: 24 }).slice(1);
    expect(long).toHaveLength(7);
    const at = long.map((l) => Bun.stringWidth(l.slice(0, l.search(/ (198|you)/))));
    expect(new Set(at).size).toBe(1);
    // Two members per line: each line's first cell ends (its idle time) at one display column.
    const cells = whoListing(members, { ...o, columns: 40, rows: 9 }).slice(1);
    expect(cells).toHaveLength(4);
    const ends = cells.map((l) => {
      const m = /(\d+s|you)/.exec(l);
      return m ? Bun.stringWidth(l.slice(0, m.index + m[0].length)) : -1;
    });
    expect(new Set(ends).size).toBe(1);
    expect(cells.filter((l) => /\d+s\s+\S/.test(l) || /you\s+\S/.test(l))).toHaveLength(3);
  });

  test("more than a screen: pages, and /who 2 shows the rest", () => {
    const members = [
      member(0, "me"),
      ...Array.from({ length: 199 }, (_, i) => member(i + 1, `s${i + 1}`)),
    ];
    const o = { now: NOW, colors: plain, spokeAt: () => undefined, columns: 80, rows: 24 };
    const one = whoListing(members, o);
    expect(one.length + 2).toBeLessThanOrEqual(24);
    expect(one.at(-1)).toMatch(/^page 1 of \d: \/who 2 for more$/);
    const two = whoListing(members, { ...o, page: 2 });
    expect(two.at(-1)).toMatch(/^page 2 of \d/);
    expect(two.join("\n")).not.toEqual(one.join("\n"));
  });
});

describe("/who in a room of 1,000", () => {
  const big = [
    member(0, "me"),
    ...Array.from({ length: 999 }, (_, i) => ({
      ...member(i + 1, `s${i + 1}`),
      ...(i < 2 ? { wire: "1.0" as const } : {}),
    })),
  ];
  const o = {
    now: NOW,
    colors: plain,
    spokeAt: (id: string) => (id === big[7]?.id ? NOW - 5000 : undefined),
    columns: 80,
    rows: 24,
  };

  test("a bare /who gives counts and the ways to see names, not 1,000 names", () => {
    const lines = whoCommand(big, "", o);
    expect(lines).toEqual([
      "1,000 members (2 of them mcchat 0.2: text only), 1 spoke in the last 10 minutes",
      "names: /who all, /who 1 (a page), or /who PREFIX (nicks starting with it)",
    ]);
  });

  test(`up to ${WHO_LIST_MAX} members a bare /who lists them as before`, () => {
    const few = big.slice(0, WHO_LIST_MAX);
    expect(whoCommand(few, "", o)).toEqual(whoListing(few, o));
    expect(whoCommand(big.slice(0, WHO_LIST_MAX + 1), "", o)[0]).toMatch(/^51 members/);
  });

  test("/who 3 is page 3 of the screen-sized pages; /who all is every member", () => {
    const page = whoCommand(big, "3", o);
    expect(page.at(-1)).toMatch(/^page 3 of \d+: \/who 4 for more$/);
    expect(page.length + 2).toBeLessThanOrEqual(24);
    const all = whoCommand(big, "all", o);
    expect(all).toHaveLength(1001);
    const text = all.join("\n");
    for (const m of big) expect(text).toContain(m.nick);
  });

  test("/who PREFIX: the members whose nick starts with it (any case), one screen", () => {
    const lines = whoCommand(big, "S99", o);
    expect(lines[0]).toBe("11 members of 1,000 named S99…:");
    expect(
      lines
        .slice(1)
        .join(" ")
        .match(/\bs99\d?\b/g),
    ).toHaveLength(11);
    expect(whoCommand(big, "zz", o)).toEqual([`no member's nick starts with "zz" (1,000 members)`]);
    const many = whoCommand(big, "s", o);
    expect(many.length + 2).toBeLessThanOrEqual(24);
    expect(many.at(-1)).toBe("… and more: a longer prefix narrows it");
  });
});

describe("LastSpoke", () => {
  test("counts messages, not heartbeats; history lines do not count; forgets who left", () => {
    const spoke = new LastSpoke();
    const id = "a".repeat(16);
    const base = { time: new Date(5000), from: "x", nick: "a", id } as const;
    spoke.note({ type: "join", ...base });
    expect(spoke.get(id)).toBeUndefined();
    spoke.note({ type: "message", ...base, text: "old", history: true });
    expect(spoke.get(id)).toBeUndefined();
    spoke.note({ type: "message", ...base, text: "hi" });
    expect(spoke.get(id)).toBe(5000);
    spoke.note({ type: "leave", ...base, reason: "bye" });
    expect(spoke.get(id)).toBeUndefined();
  });

  test("shortIdle", () => {
    expect([4_000, 125_000, 3 * 3600_000, 2 * 86_400_000].map(shortIdle)).toEqual([
      "4s",
      "2m",
      "3h",
      "2d",
    ]);
  });
});
