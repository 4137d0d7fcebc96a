/**
 * The network lab for test/net. scripts/test.ts runs test/net inside a private
 * network namespace (MCCHAT_TEST_NETNS=1, only `lo`, 224.0.0.0/4 routed to lo).
 * Inside it, as root, createLab() builds n hosts (`ip netns`) on one bridge:
 *
 *   [mcc<tag>br bridge, no address, in the runner's private netns]
 *     ├─ veth mcc<tag>v0 ── eth0 198.18.0.1/24 in netns mcc<tag>h0
 *     ├─ veth mcc<tag>v1 ── eth0 198.18.0.2/24 in netns mcc<tag>h1
 *     └─ …
 *
 * Every host has lo up and `224.0.0.0/4 dev eth0`. Nothing touches the real network
 * namespace; when run as root the runner also gives test/net a private mount of
 * /run/netns and a private PID namespace, so even a SIGKILLed run leaves nothing.
 */
import { afterAll, describe } from "bun:test";
import { networkInterfaces } from "node:os";
import { isRealRoot, type Proc, run, type SpawnOptions, spawnProc } from "./process.ts";

export * from "./process.ts";

/** Prefix of every namespace and interface the lab creates. */
export const LAB_PREFIX = "mcc";

/**
 * Throws unless this process runs in the runner's private network namespace:
 * MCCHAT_TEST_NETNS=1 and no interface but `lo` and the lab's own (mcc*).
 * Call it at the top level of every test/net file.
 */
export function assertPrivateNetns(): void {
  if (process.env.MCCHAT_TEST_NETNS !== "1") {
    throw new Error(
      "test/net must run in a private network namespace: use `npm test` or `bun scripts/test.ts test/net`, not `bun test` directly",
    );
  }
  const foreign = Object.keys(networkInterfaces()).filter(
    (name) => name !== "lo" && !name.startsWith(LAB_PREFIX),
  );
  if (foreign.length > 0) {
    throw new Error(
      `refusing to run network tests: interfaces ${foreign.join(", ")} are visible, so this is not a private network namespace`,
    );
  }
}

const IP = Bun.which("ip") ?? "/usr/sbin/ip";
const NFT = Bun.which("nft") ?? "/usr/sbin/nft";

/** Whether createLab() can work here. Use: describe.skipIf(!canCreateLab())(…). */
export function canCreateLab(): boolean {
  return isRealRoot() && Bun.which("ip") !== null;
}

/** The skip reason to print with canCreateLab(). */
export const LAB_SKIP_REASON = "multi-host tests need root (ip netns)";

/** describe() for multi-host tests: skipped, with the reason in its title, unless canCreateLab(). */
export function describeLab(title: string, fn: () => void): void {
  const ok = canCreateLab();
  describe.skipIf(!ok)(ok ? title : `${title} [skipped: ${LAB_SKIP_REASON}]`, fn);
}

/** Run a single-host process in the current (loopback-only) namespace. */
export function spawnLocal(argv: string[], opts: SpawnOptions = {}): Proc {
  return spawnProc(argv, opts);
}

export interface Host {
  /** Namespace name, e.g. mcc1234h0. */
  readonly name: string;
  /** IPv4 address on eth0, e.g. 198.18.0.1. */
  readonly address: string;
  /** Start a process in this host (via `ip netns exec`). */
  spawn(argv: string[], opts?: SpawnOptions): Proc;
  /** Run a one-shot command in this host; throws with its output on a non-zero exit. */
  exec(
    argv: string[],
    opts?: SpawnOptions & { timeoutMs?: number; check?: boolean },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Drop `percent` % of incoming UDP on this host (nftables, input hook). 0 clears. */
  setLoss(percent: number): Promise<void>;
  clearLoss(): Promise<void>;
}

export interface Lab {
  readonly hosts: Host[];
  /** Kill every process started in the lab, delete the namespaces and the bridge. Idempotent. */
  destroy(): Promise<void>;
}

export interface LabOptions {
  /** Bridge IGMP snooping (default off: the bridge floods multicast to every port). */
  snooping?: boolean;
}

interface LabState {
  names: string[];
  links: string[];
  procs: Set<Proc>;
}
const liveLabs = new Set<LabState>();
let labCounter = 0;

async function sh(script: string, what: string): Promise<void> {
  const r = await run(["sh", "-ec", script], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
}

/** Build n hosts on one bridge. Root only (see canCreateLab). Pair with afterAll(() => lab.destroy()). */
export async function createLab(n: number, opts: LabOptions = {}): Promise<Lab> {
  if (!canCreateLab()) throw new Error(LAB_SKIP_REASON);
  assertPrivateNetns();
  if (!Number.isInteger(n) || n < 1 || n > 200) throw new Error(`bad host count ${n}`);
  const tag = `${LAB_PREFIX}${process.pid}${labCounter > 0 ? `x${labCounter}` : ""}`;
  labCounter++;
  const br = `${tag}br`;
  if (br.length > 15) throw new Error(`interface name too long: ${br}`);
  const state: LabState = { names: [], links: [br], procs: new Set() };
  liveLabs.add(state);

  const lines = [
    `${IP} link add ${br} type bridge mcast_snooping ${opts.snooping ? 1 : 0}`,
    `${IP} link set ${br} up`,
  ];
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `${tag}h${i}`;
    const veth = `${tag}v${i}`;
    const address = `198.18.0.${i + 1}`;
    state.names.push(ns);
    state.links.push(veth);
    lines.push(
      `${IP} netns add ${ns}`,
      // No duplicate address detection: IPv6 link-local addresses are usable at once.
      `${IP} netns exec ${ns} sh -c 'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad' 2>/dev/null || true`,
      `${IP} link add ${veth} type veth peer name eth0 netns ${ns}`,
      `${IP} link set ${veth} master ${br} up`,
      `${IP} -n ${ns} link set lo up`,
      `${IP} -n ${ns} addr add ${address}/24 dev eth0`,
      `${IP} -n ${ns} link set eth0 up`,
      `${IP} -n ${ns} route add 224.0.0.0/4 dev eth0`,
    );
    hosts.push(makeHost(ns, address, (argv) => [IP, "netns", "exec", ns, ...argv], state.procs));
  }
  try {
    await sh(lines.join("\n"), `creating a ${n}-host lab`);
  } catch (e) {
    await destroyState(state);
    throw e;
  }

  return {
    hosts,
    destroy: () => destroyState(state),
  };
}

/** A tuple of `N` hosts. */
export type Hosts<N extends number, T extends Host[] = []> = T["length"] extends N
  ? T
  : Hosts<N, [...T, Host]>;

/**
 * For a describe block: a lab of `n` hosts, made by the first test that calls the returned
 * function (so a skipped block makes none) and destroyed after the block (afterAll).
 */
export function sharedLab<N extends number>(n: N): () => Promise<Hosts<N>> {
  let lab: Lab | undefined;
  afterAll(() => lab?.destroy());
  return async () => {
    lab ??= await createLab(n);
    return lab.hosts as Hosts<N>;
  };
}

/**
 * The runner's own loopback-only namespace as a Host (address 127.0.0.1), so a test
 * can run the same scenario on one host without root. Its setLoss needs nft
 * permissions in this namespace (root, or the fake root of `unshare -r`).
 */
export function localHost(): Host {
  assertPrivateNetns();
  return makeHost("local", "127.0.0.1", (argv) => argv, new Set());
}

function makeHost(
  ns: string,
  address: string,
  wrap: (argv: string[]) => string[],
  procs: Set<Proc>,
): Host {
  const host: Host = {
    name: ns,
    address,
    spawn(argv, opts = {}) {
      const p = spawnProc(wrap(argv), opts);
      procs.add(p);
      return p;
    },
    async exec(argv, opts = {}) {
      const r = await run(wrap(argv), opts);
      if (r.code !== 0 && opts.check !== false) {
        throw new Error(`${ns}: ${argv.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
      }
      return r;
    },
    async setLoss(percent) {
      if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
        throw new Error(`loss must be an integer 0..100, got ${percent}`);
      }
      if (percent === 0) return host.clearLoss();
      // add+delete+add in one transaction: replaces an earlier rule atomically.
      const ruleset = [
        "add table inet mcc",
        "delete table inet mcc",
        "table inet mcc {",
        "  chain input {",
        "    type filter hook input priority 0; policy accept;",
        percent === 100
          ? "    meta l4proto udp drop"
          : `    meta l4proto udp numgen random mod 100 < ${percent} drop`,
        "  }",
        "}",
        "",
      ].join("\n");
      await host.exec([NFT, "-f", "-"], { stdin: ruleset });
    },
    async clearLoss() {
      await host.exec([NFT, "-f", "-"], {
        stdin: "add table inet mcc\ndelete table inet mcc\n",
      });
    },
  };
  return host;
}

/** Shell commands that delete the lab's links and namespaces, ignoring what is already gone. */
function teardownScript(state: LabState): string {
  return [
    ...state.links.map((l) => `${IP} link del ${l} 2>/dev/null || true`),
    ...state.names.map((ns) => `${IP} netns del ${ns} 2>/dev/null || true`),
  ].join("\n");
}

async function destroyState(state: LabState): Promise<void> {
  if (!liveLabs.has(state)) return;
  liveLabs.delete(state);
  await Promise.all([...state.procs].map((p) => p.stop(1000)));
  await sh(teardownScript(state), "destroying the lab");
  const left = await labLeftovers(state);
  if (left.length > 0) throw new Error(`lab cleanup left behind: ${left.join(", ")}`);
}

async function labLeftovers(state: LabState): Promise<string[]> {
  const ns = await run([IP, "netns", "list"], { timeoutMs: 5000 });
  const links = await run([IP, "-o", "link", "show"], { timeoutMs: 5000 });
  const nsLeft = ns.stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((name) => state.names.includes(name));
  const linksLeft = state.links.filter(
    (l) => links.stdout.includes(` ${l}:`) || links.stdout.includes(` ${l}@`),
  );
  return [...nsLeft, ...linksLeft];
}

/** Last resort when the test process exits with labs still standing (e.g. a crash). */
process.on("exit", () => {
  for (const state of liveLabs) Bun.spawnSync(["sh", "-c", teardownScript(state)]);
});
