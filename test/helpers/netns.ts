/**
 * The network lab for test/net. scripts/test.ts runs test/net inside a private
 * network namespace (MCCHAT_TEST_NETNS=1, only `lo`, 224.0.0.0/4 routed to lo).
 * Inside it, as root, createLab() builds n hosts (`ip netns`) on one bridge:
 *
 *   [mcc<tag>br bridge, no address, in the runner's private netns]
 *     ├─ veth mcc<tag>v0 ── eth0 198.18.0.1/24 fd00:18::1/64 in netns mcc<tag>h0
 *     ├─ veth mcc<tag>v1 ── eth0 198.18.0.2/24 fd00:18::2/64 in netns mcc<tag>h1
 *     └─ …
 *
 * Every host has lo up, `224.0.0.0/4 dev eth0` and IPv6 multicast (ff00::/8) out of eth0
 * first; IPv6 addresses are usable at once (no duplicate address detection).
 *
 * createRoutedLab() builds two subnets joined by a multicast router (see there):
 *
 *   subnet 1: bridge mcc<tag>br1, 198.18.1.0/24, fd00:18:1::/64
 *   subnet 2: bridge mcc<tag>br2, 198.18.2.0/24, fd00:18:2::/64
 *   router  mcc<tag>r: eth0 198.18.1.254 fd00:18:1::254 (br1), eth1 198.18.2.254 fd00:18:2::254
 *           (br2), forwarding on, smcrouted routing the given groups both ways
 *   hosts   mcc<tag>a<i> on subnet 1 (.i+1), mcc<tag>b<i> on subnet 2 (.i+1), default route via
 *           the router; dual-homed mcc<tag>d<k>: eth0 on subnet 1, eth1 on subnet 2 (.101+k)
 *
 * Nothing touches the real network
 * namespace; when run as root the runner also gives test/net a private mount of
 * /run/netns and a private PID namespace, so even a SIGKILLed run leaves nothing.
 */
import { afterAll, describe } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
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

/**
 * Throws, with their output, if any of `procs` has exited: for the condition of a bounded
 * wait on processes that should keep running, so one that refused its flags fails the wait
 * at once instead of at its timeout.
 */
export function failIfExited(procs: readonly Proc[], what = "the wait"): void {
  const gone = procs.filter((p) => p.exited);
  if (gone.length > 0) {
    throw new Error(
      `${what}: ${gone.length} process(es) exited early\n${gone.map((p) => p.describe()).join("\n")}`,
    );
  }
}

/** Run a single-host process in the current (loopback-only) namespace. */
export function spawnLocal(argv: string[], opts: SpawnOptions = {}): Proc {
  return spawnProc(argv, opts);
}

/** One network interface of a lab host with its addresses. */
export interface Nic {
  /** Interface name inside the host, e.g. eth0. */
  readonly name: string;
  /** IPv4 address, e.g. 198.18.0.1. */
  readonly address: string;
  /** IPv6 address (ULA, no DAD), e.g. fd00:18::1. */
  readonly address6: string;
}

export interface Host {
  /** Namespace name, e.g. mcc1234h0. */
  readonly name: string;
  /** IPv4 address on eth0, e.g. 198.18.0.1. */
  readonly address: string;
  /** IPv6 address on eth0, e.g. fd00:18::1 (localHost: ::1). */
  readonly address6: string;
  /** Its interfaces, eth0 first (localHost: lo). */
  readonly nics: readonly Nic[];
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
  /** Temporary directories (smcrouted's config, socket, PID file), removed on destroy. */
  dirs: string[];
  /**
   * Lab daemons (smcrouted): outside `procs` and process.ts's registry, so stopAll() after
   * each test leaves them running; destroy() stops them.
   */
  daemons: DaemonImpl[];
}

/** A daemon the lab started: stopped by destroy() (SIGTERM, then SIGKILL), its output in a log file. */
export interface Daemon {
  readonly pid: number;
  readonly argv: string[];
  /** Path of the file its stdout and stderr go to. */
  readonly logFile: string;
  readonly exited: boolean;
  /** Its output so far. */
  log(): string;
  /** Command, state and output, for failure messages. */
  describe(): string;
}

interface DaemonImpl extends Daemon {
  stop(graceMs: number): Promise<void>;
  killNow(): void;
}

function startDaemon(argv: string[], logFile: string): DaemonImpl {
  const fd = openSync(logFile, "a", 0o600);
  let sub: ReturnType<typeof Bun.spawn>;
  try {
    sub = Bun.spawn({ cmd: argv, stdin: "ignore", stdout: fd, stderr: fd });
  } finally {
    closeSync(fd);
  }
  let done = false;
  void sub.exited.then(() => {
    done = true;
  });
  const log = () => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  return {
    pid: sub.pid,
    argv,
    logFile,
    get exited() {
      return done;
    },
    log,
    describe: () =>
      [
        `  command: ${argv.join(" ")}`,
        `  exit: ${done ? (sub.exitCode ?? sub.signalCode) : "still running"}`,
        `  log: ${log() || "(empty)"}`,
      ].join("\n"),
    async stop(graceMs) {
      if (done) return;
      sub.kill("SIGTERM");
      const t = setTimeout(() => sub.kill("SIGKILL"), graceMs);
      await Promise.race([sub.exited, Bun.sleep(graceMs + 2000)]);
      clearTimeout(t);
    },
    killNow() {
      if (!done) sub.kill("SIGKILL");
    },
  };
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
  const state: LabState = { names: [], links: [br], procs: new Set(), dirs: [], daemons: [] };
  liveLabs.add(state);

  const lines = [
    `${IP} link add ${br} type bridge mcast_snooping ${opts.snooping ? 1 : 0}`,
    `${IP} link set ${br} up`,
  ];
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `${tag}h${i}`;
    const veth = `${tag}v${i}`;
    const nic: Nic = { name: "eth0", address: `198.18.0.${i + 1}`, address6: `fd00:18::${i + 1}` };
    state.names.push(ns);
    state.links.push(veth);
    lines.push(...addNamespace(ns), ...addNic(ns, nic, veth, br), ...multicastRoutes(ns, "eth0"));
    hosts.push(makeHost(ns, [nic], (argv) => [IP, "netns", "exec", ns, ...argv], state.procs));
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

/** Commands that make namespace `ns` with lo up and IPv6 duplicate address detection off. */
function addNamespace(ns: string): string[] {
  return [
    `${IP} netns add ${ns}`,
    // No duplicate address detection: IPv6 addresses (link-local too) are usable at once.
    `${IP} netns exec ${ns} sh -c 'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad' 2>/dev/null || true`,
    `${IP} -n ${ns} link set lo up`,
  ];
}

/** Commands that give `ns` the interface `nic` (/24 and /64, no DAD): a veth whose other end is on `bridge`. */
function addNic(ns: string, nic: Nic, veth: string, bridge: string): string[] {
  return [
    `${IP} link add ${veth} type veth peer name ${nic.name} netns ${ns}`,
    `${IP} link set ${veth} master ${bridge} up`,
    `${IP} -n ${ns} addr add ${nic.address}/24 dev ${nic.name}`,
    `${IP} -n ${ns} addr add ${nic.address6}/64 dev ${nic.name} nodad`,
    `${IP} -n ${ns} link set ${nic.name} up`,
  ];
}

/**
 * Commands that send multicast without a chosen interface out of `dev`: 224.0.0.0/4, and
 * ff00::/8 in the local table ahead of the kernel's per-interface routes (metric 256), so a
 * host with two NICs has one answer for either family.
 */
function multicastRoutes(ns: string, dev: string): string[] {
  return [
    `${IP} -n ${ns} route add 224.0.0.0/4 dev ${dev}`,
    `${IP} -n ${ns} -6 route add multicast ff00::/8 dev ${dev} table local metric 1`,
  ];
}

const SMCROUTED = Bun.which("smcrouted") ?? "/usr/sbin/smcrouted";

/** Why this kernel cannot route multicast of each family, or undefined where it can. */
export interface MulticastRouting {
  ipv4?: string;
  ipv6?: string;
}

/**
 * Asks this kernel, once, whether it can route multicast: in a throwaway network namespace,
 * `setsockopt(MRT_INIT)` on a raw IGMP socket (IPv4) and `MRT6_INIT` on a raw ICMPv6 socket
 * (IPv6), as smcrouted does when it starts. A kernel built without CONFIG_IP_MROUTE (or
 * CONFIG_IPV6_MROUTE) answers "Protocol not available" (ENOPROTOOPT), and smcrouted then
 * forwards nothing. Root only (raw sockets, unshare); without root both families are unknown.
 */
export function multicastRouting(): MulticastRouting {
  if (probedRouting) return probedRouting;
  const script = [
    "import socket",
    "def probe(fam, proto, level, name):",
    "    try:",
    "        s = socket.socket(fam, socket.SOCK_RAW, proto)",
    "    except OSError as e:",
    "        return 'socket: ' + (e.strerror or str(e))",
    "    try:",
    "        s.setsockopt(level, 200, 1)",
    "        return 'ok'",
    "    except OSError as e:",
    "        return name + ': ' + (e.strerror or str(e))",
    "    finally:",
    "        s.close()",
    "print(probe(socket.AF_INET, socket.IPPROTO_IGMP, socket.IPPROTO_IP, 'MRT_INIT'))",
    "print(probe(socket.AF_INET6, socket.IPPROTO_ICMPV6, socket.IPPROTO_IPV6, 'MRT6_INIT'))",
  ].join("\n");
  const unshare = Bun.which("unshare");
  const python = Bun.which("python3");
  if (!isRealRoot() || !unshare || !python) {
    const why = "cannot probe multicast routing (needs root, unshare and python3)";
    probedRouting = { ipv4: why, ipv6: why };
    return probedRouting;
  }
  const r = Bun.spawnSync([unshare, "--net", python, "-c", script], { stderr: "pipe" });
  const [v4, v6] = r.stdout.toString().trim().split("\n");
  const reason = (answer: string | undefined, config: string) =>
    answer === "ok"
      ? undefined
      : `this kernel cannot route multicast (${answer || `probe failed: ${r.stderr.toString().trim()}`}; ${config})`;
  probedRouting = {
    ipv4: reason(v4, "CONFIG_IP_MROUTE"),
    ipv6: reason(v6, "CONFIG_IPV6_MROUTE"),
  };
  return probedRouting;
}
let probedRouting: MulticastRouting | undefined;

/**
 * Why createRoutedLab() cannot route multicast of `family` here (root, ip, smcrouted, and a
 * kernel with multicast routing), or undefined when it can.
 */
export function routedLabSkipReason(family: "ipv4" | "ipv6" = "ipv4"): string | undefined {
  if (!canCreateLab()) return LAB_SKIP_REASON;
  if (Bun.which("smcrouted") === null) return "routed-subnet tests need smcroute (smcrouted)";
  return multicastRouting()[family];
}

/**
 * describe() for tests of createRoutedLab() that route multicast of `family`: skipped, with
 * the reason in its title, where routedLabSkipReason(family) gives one.
 */
export function describeRoutedLab(
  title: string,
  fn: () => void,
  family: "ipv4" | "ipv6" = "ipv4",
): void {
  const why = routedLabSkipReason(family);
  describe.skipIf(why !== undefined)(why === undefined ? title : `${title} [skipped: ${why}]`, fn);
}

export interface RoutedLabOptions {
  /** Hosts on subnet 1 and on subnet 2 (default one each). */
  hosts?: readonly [number, number];
  /** Hosts with a NIC on each subnet: eth0 on subnet 1, eth1 on subnet 2 (default none). */
  dualHomed?: number;
  /**
   * Groups the router forwards both ways (smcroute `mroute from ethX group G to ethY`; a
   * prefix such as 239.0.0.0/8 is a (*,G) range). Default 239.0.0.0/8 and ff15::/16.
   * [] = no multicast routing at all (no smcrouted; unicast is still routed).
   */
  routedGroups?: readonly string[];
}

/** One (S,G) entry of the router's multicast forwarding cache. */
export interface MRoute {
  source: string;
  group: string;
  /** Interface it must arrive on. */
  iif: string;
  /** Interfaces it is forwarded to. */
  oifs: string[];
  /**
   * Datagrams that matched the entry. The kernel counts before the TTL check: a datagram
   * with TTL 1 is counted but not forwarded.
   */
  packets: number;
}

/** The multicast router between the two subnets of a routed lab. */
export interface Router extends Host {
  /** The kernel's (S,G) entries, IPv4 and IPv6 (`ip -s mroute show`). */
  mroutes(): Promise<MRoute[]>;
  /** smcrouted, running until destroy() (undefined when the lab routes no group). */
  readonly smcrouted: Daemon | undefined;
}

export interface RoutedLab extends Lab {
  /** Hosts on 198.18.1.0/24 (fd00:18:1::/64), 198.18.1.1, .2, … */
  readonly subnet1: Host[];
  /** Hosts on 198.18.2.0/24 (fd00:18:2::/64), 198.18.2.1, .2, … */
  readonly subnet2: Host[];
  /** Hosts on both: nics[0] eth0 198.18.1.(101+k), nics[1] eth1 198.18.2.(101+k). */
  readonly dualHomed: Host[];
  readonly router: Router;
}

/**
 * Two subnets on two bridges joined by a router namespace (two NICs, IPv4 and IPv6
 * forwarding on, default routes of the hosts through it) that forwards multicast of
 * `routedGroups` both ways with smcrouted, started here and killed by destroy(). Hosts
 * send multicast out of eth0 by default (routes as in createLab). The kernel forwards a
 * multicast datagram only if its TTL (hop limit) is above 1: `--ttl 2` crosses, `--ttl 1`
 * stays on its subnet. Root only; Lab.hosts lists subnet1, subnet2, then dualHomed.
 */
export async function createRoutedLab(opts: RoutedLabOptions = {}): Promise<RoutedLab> {
  if (!canCreateLab()) throw new Error(LAB_SKIP_REASON);
  assertPrivateNetns();
  const [n1, n2] = opts.hosts ?? [1, 1];
  const nd = opts.dualHomed ?? 0;
  const groups = opts.routedGroups ?? ["239.0.0.0/8", "ff15::/16"];
  for (const n of [n1, n2, nd]) {
    if (!Number.isInteger(n) || n < 0 || n > 100) throw new Error(`bad host count ${n}`);
  }
  const cannot = groups.length > 0 ? routedLabSkipReason() : undefined;
  if (cannot !== undefined) throw new Error(cannot);
  const tag = `${LAB_PREFIX}${process.pid}${labCounter > 0 ? `x${labCounter}` : ""}`;
  labCounter++;
  const bridges = [`${tag}br1`, `${tag}br2`] as const;
  for (const b of bridges) if (b.length > 15) throw new Error(`interface name too long: ${b}`);
  const state: LabState = {
    names: [],
    links: [...bridges],
    procs: new Set(),
    dirs: [],
    daemons: [],
  };
  liveLabs.add(state);
  const wrap = (ns: string) => (argv: string[]) => [IP, "netns", "exec", ns, ...argv];

  const lines = bridges.flatMap((b) => [
    `${IP} link add ${b} type bridge mcast_snooping 0`,
    `${IP} link set ${b} up`,
  ]);
  let vethCount = 0;
  const plug = (ns: string, nic: Nic, subnet: 1 | 2) => {
    const veth = `${tag}v${vethCount++}`;
    state.links.push(veth);
    lines.push(...addNic(ns, nic, veth, subnet === 1 ? bridges[0] : bridges[1]));
  };
  const nicOn = (subnet: 1 | 2, name: string, last: number): Nic => ({
    name,
    address: `198.18.${subnet}.${last}`,
    address6: `fd00:18:${subnet}::${last}`,
  });

  // The router.
  const routerNs = `${tag}r`;
  state.names.push(routerNs);
  const routerNics = [nicOn(1, "eth0", 254), nicOn(2, "eth1", 254)];
  lines.push(...addNamespace(routerNs));
  plug(routerNs, routerNics[0] as Nic, 1);
  plug(routerNs, routerNics[1] as Nic, 2);
  lines.push(
    `${IP} netns exec ${routerNs} sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'`,
  );

  // Single-homed hosts on each subnet.
  const subnets: [Host[], Host[]] = [[], []];
  for (const [subnet, count, letter] of [
    [1, n1, "a"],
    [2, n2, "b"],
  ] as const) {
    for (let i = 0; i < count; i++) {
      const ns = `${tag}${letter}${i}`;
      const nic = nicOn(subnet, "eth0", i + 1);
      state.names.push(ns);
      lines.push(...addNamespace(ns));
      plug(ns, nic, subnet);
      lines.push(
        ...multicastRoutes(ns, "eth0"),
        `${IP} -n ${ns} route add default via 198.18.${subnet}.254`,
        `${IP} -n ${ns} -6 route add default via fd00:18:${subnet}::254`,
      );
      (subnet === 1 ? subnets[0] : subnets[1]).push(makeHost(ns, [nic], wrap(ns), state.procs));
    }
  }

  // Dual-homed hosts: eth0 on subnet 1, eth1 on subnet 2; no forwarding.
  const dualHomed: Host[] = [];
  for (let k = 0; k < nd; k++) {
    const ns = `${tag}d${k}`;
    const nics = [nicOn(1, "eth0", 101 + k), nicOn(2, "eth1", 101 + k)];
    state.names.push(ns);
    lines.push(...addNamespace(ns));
    plug(ns, nics[0] as Nic, 1);
    plug(ns, nics[1] as Nic, 2);
    lines.push(...multicastRoutes(ns, "eth0"));
    dualHomed.push(makeHost(ns, nics, wrap(ns), state.procs));
  }

  try {
    await sh(lines.join("\n"), `creating a routed lab (${n1}+${n2}+${nd} hosts)`);
  } catch (e) {
    await destroyState(state);
    throw e;
  }

  const routerHost = makeHost(routerNs, routerNics, wrap(routerNs), state.procs);
  let smcrouted: Daemon | undefined;
  if (groups.length > 0) {
    try {
      smcrouted = await startSmcrouted(routerHost, groups, tag, state);
    } catch (e) {
      await destroyState(state);
      throw e;
    }
  }
  const router: Router = {
    ...routerHost,
    smcrouted,
    async mroutes() {
      const out = await Promise.all(
        [["-4"], ["-6"]].map((f) => routerHost.exec([IP, ...f, "-s", "mroute", "show"])),
      );
      return parseMroutes(out.map((r) => r.stdout).join("\n"));
    },
  };

  return {
    hosts: [...subnets[0], ...subnets[1], ...dualHomed],
    subnet1: subnets[0],
    subnet2: subnets[1],
    dualHomed,
    router,
    destroy: () => destroyState(state),
  };
}

/**
 * Starts smcrouted in the router (foreground, its own config, socket and PID file in a
 * temporary directory: /run is the real one) with `mroute` lines for each group both ways,
 * and waits (bounded) until it has written its PID file, which it does once the routes are in.
 */
async function startSmcrouted(
  router: Host,
  groups: readonly string[],
  ident: string,
  state: LabState,
): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), "mcchat-smcroute-"));
  state.dirs.push(dir);
  const conf = join(dir, "smcroute.conf");
  const pidFile = join(dir, "smcroute.pid");
  writeFileSync(
    conf,
    groups
      .flatMap((g) => [
        `mroute from eth0 group ${g} to eth1`,
        `mroute from eth1 group ${g} to eth0`,
      ])
      .join("\n")
      .concat("\n"),
  );
  const argv = [
    SMCROUTED,
    "-n",
    "-f",
    conf,
    "-i",
    ident,
    "-u",
    join(dir, "smcroute.sock"),
    "-P",
    pidFile,
    "-l",
    "info",
  ];
  const p = startDaemon([IP, "netns", "exec", router.name, ...argv], join(dir, "smcrouted.log"));
  state.daemons.push(p);
  const deadline = Date.now() + 10_000;
  while (!(await Bun.file(pidFile).exists())) {
    if (p.exited || Date.now() > deadline) {
      throw new Error(`smcrouted did not start (no ${pidFile})\n${p.describe()}`);
    }
    await Bun.sleep(20);
  }
  return p;
}

/** Parses `ip -s mroute show` (either family): "(S,G) Iif: X Oifs: Y Z State: …" then "  N packets, …". */
export function parseMroutes(text: string): MRoute[] {
  const routes: MRoute[] = [];
  for (const line of text.split("\n")) {
    const head =
      /^\(([^,]+),\s*([^)]+)\)\s+Iif:\s*(\S+)\s*(?:Oifs:\s*(.*?))?\s*(?:State:.*)?$/.exec(line);
    if (head) {
      routes.push({
        source: head[1] as string,
        group: head[2] as string,
        iif: head[3] as string,
        oifs: (head[4] ?? "").split(/\s+/).filter((o) => o !== "" && o !== "unresolved"),
        packets: 0,
      });
      continue;
    }
    const counts = /^\s+(\d+) packets/.exec(line);
    const last = routes.at(-1);
    if (counts && last) last.packets = Number(counts[1]);
  }
  return routes;
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
 * For a describe block: a routed lab whose router routes no multicast, with a0 on subnet 1,
 * b0 on subnet 2 and the dual-homed d0 on both (eth0, eth1); made by the first test that
 * calls the returned function and destroyed after the block (afterAll).
 */
export function sharedDualHomedLab(): () => Promise<{ a0: Host; b0: Host; d0: Host }> {
  let lab: RoutedLab | undefined;
  afterAll(() => lab?.destroy());
  return async () => {
    lab ??= await createRoutedLab({ hosts: [1, 1], dualHomed: 1, routedGroups: [] });
    return {
      a0: lab.subnet1[0] as Host,
      b0: lab.subnet2[0] as Host,
      d0: lab.dualHomed[0] as Host,
    };
  };
}

/**
 * The runner's own loopback-only namespace as a Host (address 127.0.0.1), so a test
 * can run the same scenario on one host without root. Its setLoss needs nft
 * permissions in this namespace (root, or the fake root of `unshare -r`).
 */
export function localHost(): Host {
  assertPrivateNetns();
  return makeHost(
    "local",
    [{ name: "lo", address: "127.0.0.1", address6: "::1" }],
    (argv) => argv,
    new Set(),
  );
}

function makeHost(
  ns: string,
  nics: readonly Nic[],
  wrap: (argv: string[]) => string[],
  procs: Set<Proc>,
): Host {
  const first = nics[0];
  if (!first) throw new Error(`${ns}: a host needs an interface`);
  const host: Host = {
    name: ns,
    address: first.address,
    address6: first.address6,
    nics,
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
  await Promise.all(state.daemons.map((d) => d.stop(1000)));
  for (const dir of state.dirs) rmSync(dir, { recursive: true, force: true });
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
  for (const state of liveLabs) {
    for (const d of state.daemons) d.killNow();
    Bun.spawnSync(["sh", "-c", teardownScript(state)]);
    for (const dir of state.dirs) rmSync(dir, { recursive: true, force: true });
  }
});
