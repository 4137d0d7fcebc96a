import { describe, expect, test } from "bun:test";
import pc from "picocolors";
import type { MemberInfo } from "../../src/session/member-info.ts";
import { LastSpoke, shortIdle, whoListing } from "../../src/ui/who.ts";

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
