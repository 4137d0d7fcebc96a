/**
 * Tests of the test lab itself: the guard, the hosts, the legacy peer, loss, cleanup.
 * If these fail, the other network tests mean nothing.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import {
  assertPrivateNetns,
  createLab,
  describeLab,
  type Lab,
  legacyPeerCommand,
  run,
  spawnLocal,
  stopAll,
} from "../helpers/netns.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.100.77";
type Datagram = { from: string; hex: string; len: number; truncated: boolean; text: string };

test("the runner's namespace has only lo (and lab links)", () => {
  const names = Object.keys(networkInterfaces()).filter((n) => !n.startsWith("mcc"));
  expect(names).toEqual(["lo"]);
});

test("legacy peer on loopback: GBK bytes, READY, JSON lines, truncation at 1,024", async () => {
  const peer = legacyPeerCommand();
  const rx = spawnLocal([...peer, "recv", GROUP, "25101", "--count", "3", "--timeout", "5"]);
  await rx.waitForLine(/^READY$/, 5000, "stderr");
  const tx = await run([...peer, "send", GROUP, "25101", "大家好，世界", "x"]);
  expect(tx.code).toBe(0);
  expect((await run([...peer, "send", GROUP, "25101", "--hex", "61".repeat(1100)])).code).toBe(0);
  expect(await rx.waitForExit(5000)).toBe(0);
  const got = rx.json<Datagram>();
  expect(got.map((d) => d.text)).toEqual(["大家好，世界", "x", "a".repeat(1024)]);
  expect(got[0]?.hex).toBe(Buffer.from("b4f3bcd2bac3a3accac0bde7", "hex").toString("hex"));
  expect(got[0]?.from).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(got[2]).toMatchObject({ len: 1024, truncated: true });
}, 15_000);

test("legacy peer exit codes: timeout 1, usage 2, join failure 3", async () => {
  const peer = legacyPeerCommand();
  expect((await run([...peer, "recv", GROUP, "25102", "--timeout", "0.2"])).code).toBe(1);
  expect((await run([...peer, "send", GROUP, "0", "x"])).code).toBe(2);
  expect((await run([...peer, "recv", "10.0.0.1", "25102"])).code).toBe(3);
}, 15_000);

describeLab("three hosts", () => {
  let lab: Lab;
  afterAll(async () => {
    const names = lab?.hosts.map((h) => h.name) ?? [];
    await lab?.destroy();
    const left = await run(["ip", "netns", "list"]);
    for (const name of names) expect(left.stdout).not.toContain(name);
  });

  test("createLab: names, addresses, routes, multicast between hosts", async () => {
    lab = await createLab(3);
    const [h0, h1, h2] = lab.hosts;
    if (!h0 || !h1 || !h2) throw new Error("3 hosts expected");
    expect(lab.hosts.map((h) => h.address)).toEqual(["198.18.0.1", "198.18.0.2", "198.18.0.3"]);
    // mcc<pid>h1, or mcc<pid>x<k>h1 when another file of this run made a lab before
    expect(h1.name).toMatch(new RegExp(`^mcc${process.pid}(x\\d+)?h1$`));
    const routes = await h1.exec(["ip", "route", "show", "table", "main"]);
    expect(routes.stdout).toContain("224.0.0.0/4 dev eth0");
    expect((await h1.exec(["ip", "-br", "link"])).stdout).not.toMatch(/^mcc/m);

    const peer = legacyPeerCommand();
    const r1 = h1.spawn([...peer, "recv", GROUP, "25103", "--timeout", "5"]);
    const r2 = h2.spawn([...peer, "recv", GROUP, "25103", "--timeout", "5"]);
    await Promise.all([r1, r2].map((r) => r.waitForLine(/^READY$/, 5000, "stderr")));
    await h0.exec([...peer, "send", GROUP, "25103", "hi"]);
    for (const r of [r1, r2]) {
      expect(await r.waitForExit(5000)).toBe(0);
      expect(r.json<Datagram>()[0]).toMatchObject({
        text: "hi",
        from: expect.stringMatching(/^198\.18\.0\.1:/),
      });
    }
  }, 30_000);

  test("setLoss(100) drops all incoming UDP on that host, clearLoss restores", async () => {
    const [h0, h1] = lab.hosts;
    if (!h0 || !h1) throw new Error("hosts expected");
    const peer = legacyPeerCommand();
    await h1.setLoss(100);
    const lost = h1.spawn([...peer, "recv", GROUP, "25104", "--timeout", "0.8"]);
    await lost.waitForLine(/^READY$/, 5000, "stderr");
    await h0.exec([...peer, "send", GROUP, "25104", "a", "b", "c"]);
    expect(await lost.waitForExit(5000)).toBe(1);
    await h1.clearLoss();
    const ok = h1.spawn([...peer, "recv", GROUP, "25104", "--timeout", "5"]);
    await ok.waitForLine(/^READY$/, 5000, "stderr");
    await h0.exec([...peer, "send", GROUP, "25104", "d"]);
    expect(await ok.waitForExit(5000)).toBe(0);
  }, 30_000);

  test("setLoss(30) drops roughly 30 % (bounded sample)", async () => {
    const [h0, h2] = [lab.hosts[0], lab.hosts[2]];
    if (!h0 || !h2) throw new Error("hosts expected");
    const peer = legacyPeerCommand();
    await h2.setLoss(30);
    const rx = h2.spawn([
      ...peer,
      "recv",
      GROUP,
      "25105",
      "--count",
      "0",
      "--timeout",
      "3",
      "--idle",
      "0.5",
    ]);
    await rx.waitForLine(/^READY$/, 5000, "stderr");
    const texts = Array.from({ length: 400 }, (_, i) => `m${i}`);
    await h0.exec([...peer, "send", GROUP, "25105", ...texts]);
    await rx.waitForExit(6000);
    await h2.clearLoss();
    const n = rx.json().length;
    // 400 draws at p = 0.7: mean 280, sd ~9.2; 200..360 is beyond 8 sd.
    expect(n).toBeGreaterThan(200);
    expect(n).toBeLessThan(360);
  }, 30_000);
});
