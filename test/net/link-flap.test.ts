/**
 * Issue 15 "The network interface goes down and up", from dist/mcchat between lab hosts.
 *
 *   h0  "m": the member whose eth0 goes down for 10 s, then up again (`ip link set`).
 *       Run once with `-i eth0` and once without (the interface the kernel chose at join).
 *   h1  "p": a member on the same bridge, up throughout.
 *
 * Bringing eth0 down removes every route through it: the lab's `224.0.0.0/4 dev eth0` (the
 * only way a member without `-i` knew where to send) is gone for good after the link comes
 * back. 0.2/0.3 then never sent again without `-i`, and printed one `send failed` warning
 * per frame in both cases.
 *
 * Both members write lines before, during and after the outage. Then:
 * - every line of each reaches the other (those sent while the link was down are in the
 *   sender's repair buffer and are repaired once heartbeats flow again);
 * - "m" printed at most 2 warning lines on stderr (one when sending stopped, one when it
 *   worked again), and said it can send again;
 * - "m" keeps sending and receiving after the outage.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { events, gotText, waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  binaryCommand,
  createLab,
  describeLab,
  type Host,
  type Lab,
  type Proc,
  run,
  stopAll,
} from "../helpers/netns.ts";
import { waitForJoins } from "../helpers/room.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const MCCHAT = binaryCommand();
const IP = Bun.which("ip") ?? "/usr/sbin/ip";
/** How long eth0 stays down (the 10 s). */
const OUTAGE_MS = 10_000;
/** Lines each member writes while the link is down, spread over the outage. */
const DURING = 5;

const warningLines = (p: Proc) => p.lines("stderr").filter((l) => /warning/i.test(l));

/**
 * How the link goes away: set down and up; deleted and made again (a new interface index, the
 * kernel drops its memberships); or its IPv4 address removed and added again.
 */
type Outage = "down-up" | "recreated" | "readdressed";

describeLab("the network interface goes down and up", () => {
  let lab: Lab;
  afterAll(() => lab?.destroy());
  const hosts = async () => {
    lab ??= await createLab(2);
    return lab.hosts as [Host, Host];
  };
  /** Sets eth0 of `h` up or down (from the runner's namespace, like an operator would). */
  const link = (h: Host, state: "up" | "down") =>
    h.exec([IP, "link", "set", "eth0", state], { timeoutMs: 5000 });
  /** The lab's veth whose peer is `h`'s eth0 (netns.ts: mcc<tag>h<i> ↔ mcc<tag>v<i> on mcc<tag>br). */
  const vethOf = (h: Host) => h.name.replace(/h(\d+)$/, "v$1");
  const bridgeOf = (h: Host) => h.name.replace(/h\d+$/, "br");
  /** Deletes `h`'s eth0 (with its veth): its memberships and its index go with it. */
  const unplug = (h: Host) => run([IP, "link", "del", vethOf(h)], { timeoutMs: 5000 });
  /** Makes `h`'s eth0 again as createLab did: same name and addresses, a new interface index. */
  const plugIn = async (h: Host) => {
    const veth = vethOf(h);
    for (const argv of [
      [IP, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.name],
      [IP, "link", "set", veth, "master", bridgeOf(h), "up"],
      [IP, "-n", h.name, "addr", "add", `${h.address}/24`, "dev", "eth0"],
      [IP, "-n", h.name, "addr", "add", `${h.address6}/64`, "dev", "eth0", "nodad"],
      [IP, "-n", h.name, "link", "set", "eth0", "up"],
    ]) {
      const r = await run(argv, { timeoutMs: 5000 });
      if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
    }
  };
  /** Removes or adds back `h`'s IPv4 address on eth0. */
  const address = (h: Host, op: "add" | "del") =>
    h.exec([IP, "addr", op, `${h.address}/24`, "dev", "eth0"], { timeoutMs: 5000 });
  const ifindex = async (h: Host) =>
    (await h.exec(["cat", "/sys/class/net/eth0/ifindex"], { timeoutMs: 5000 })).stdout.trim();

  /**
   * The lab's IPv6 setup of eth0 again, as a host's configuration (SLAAC, DHCPv6, static)
   * does after the link comes back: going down removed the address and the ff00::/8 route.
   */
  const restoreIPv6 = async (h: Host) => {
    await h.exec([IP, "addr", "replace", `${h.address6}/64`, "dev", "eth0", "nodad"], {
      timeoutMs: 5000,
    });
    await h.exec(
      [
        IP,
        "-6",
        "route",
        "replace",
        "multicast",
        "ff00::/8",
        "dev",
        "eth0",
        "table",
        "local",
      ].concat(["metric", "1"]),
      { timeoutMs: 5000 },
    );
  };

  const cases: [Outage, boolean, "IPv4" | "IPv6"][] = [
    ["down-up", true, "IPv4"],
    ["down-up", false, "IPv4"],
    ["recreated", true, "IPv4"],
    ["recreated", false, "IPv4"],
    ["readdressed", true, "IPv4"],
    ["readdressed", false, "IPv4"],
    ["down-up", true, "IPv6"],
    ["down-up", false, "IPv6"],
  ];
  for (const [n, [outage, pinned, family]] of cases.entries()) {
    const how = {
      "down-up": "eth0 down 10 s and up",
      recreated: "eth0 deleted, made again after 10 s",
      readdressed: "eth0's address removed, added again after 10 s",
    }[outage];
    const label = `${pinned ? "with -i eth0" : "without -i (the interface chosen at join)"}${family === "IPv6" ? ", IPv6 group" : ""}`;
    const roomPort = String(27110 + 10 * n);
    test(`${how}, ${label}: sends and receives again, ≤ 2 warnings, nothing lost`, async () => {
      const [h0, h1] = await hosts();
      const group = family === "IPv6" ? ["-g", "ff15::1:5"] : [];
      const room = ["-y", ...group, "-p", roomPort, "--json"];
      const m = h0.spawn([...MCCHAT, ...room, ...(pinned ? ["-i", "eth0"] : []), "-n", "m"], {
        stdin: "pipe",
      });
      const p = h1.spawn([...MCCHAT, ...room, "-n", "p"], { stdin: "pipe" });
      const all = [m, p];
      const before = await ifindex(h0);
      try {
        await waitForJoins(
          [
            [m, ["p"]],
            [p, ["m"]],
          ],
          10_000,
          "m and p see each other join",
          all,
        );
        m.write("m before\n");
        p.write("p before\n");
        await waitFor(
          () => gotText(p, "m before") && gotText(m, "p before"),
          5000,
          "the lines before the outage",
          all,
        );

        if (outage === "down-up") await link(h0, "down");
        else if (outage === "recreated") await unplug(h0);
        else await address(h0, "del");
        const downAt = Date.now();
        for (let i = 1; i <= DURING; i++) {
          m.write(`m during ${i}\n`);
          p.write(`p during ${i}\n`);
          await Bun.sleep(OUTAGE_MS / DURING);
        }
        await Bun.sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
        if (outage === "down-up") {
          await link(h0, "up");
          if (family === "IPv6") await restoreIPv6(h0);
        } else if (outage === "recreated") {
          await plugIn(h0);
          expect(await ifindex(h0)).not.toBe(before);
        } else await address(h0, "add");

        const during = (who: string) =>
          Array.from({ length: DURING }, (_, i) => `${who} during ${i + 1}`);
        // What was sent during the outage arrives once the link is back (repairs).
        await waitFor(
          () => during("m").every((t) => gotText(p, t)) && during("p").every((t) => gotText(m, t)),
          20_000,
          "every line sent during the outage arrives after it",
          all,
        );
        // And the link works for new lines both ways.
        m.write("m after\n");
        p.write("p after\n");
        await waitFor(
          () => gotText(p, "m after") && gotText(m, "p after"),
          10_000,
          "the lines after the outage",
          all,
        );
        // Said when sending works again (bounded wait); then the count decides.
        await m.waitForLine(/can send again/, 5000, "stderr").catch(() => {});
        const warnings = warningLines(m);
        expect(
          warnings.length,
          `${warnings.length} warning lines:\n${warnings.slice(0, 5).join("\n")}`,
        ).toBeLessThanOrEqual(2);
        expect(warnings[0], warnings.join("\n")).toMatch(/cannot send \(E[A-Z]+ on eth0\)/);
        expect(warnings[1], warnings.join("\n")).toMatch(
          /can send again after \d+\.\d s \(\d+ frames? failed/,
        );
        expect(m.stderr).not.toMatch(/socket error|send failed/);
        // Nothing lost on either side, and p shows m in the room again.
        for (const x of all) expect(events(x).filter((e) => e.type === "lost")).toEqual([]);
        const seen = events(p).filter((e) => e.nick === "m" && /^(join|leave)$/.test(e.type));
        expect(seen.at(-1)?.type).toBe("join");
      } finally {
        if (outage === "recreated" && !(await ifindex(h0).catch(() => ""))) {
          await plugIn(h0).catch(() => {});
        }
        await link(h0, "up").catch(() => {});
        if (outage === "readdressed") await address(h0, "add").catch(() => {});
        await restoreIPv6(h0).catch(() => {});
        // The lab's multicast route, which going down removed (the next test joins by it).
        await h0
          .exec([IP, "route", "replace", "224.0.0.0/4", "dev", "eth0"], { timeoutMs: 5000 })
          .catch(() => {});
      }
    }, 90_000);
  }
});
