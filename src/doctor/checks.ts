/**
 * doctor's checks, pure over an injected platform (platform.ts) and the live part's
 * results (census.ts): each gives a verdict (ok / warn / fail; skip = not available on
 * this system) with what it saw and, unless ok, a concrete fix.
 */
import { framedPort } from "../net/udp-transport.ts";
import type { DoctorPlatform } from "./platform.ts";
import {
  IFF,
  lookupRoute,
  type Membership,
  parseFlags,
  parseIgmp,
  parseIgmp6,
  parseNetDev,
  parseRoute4,
  parseRoute6,
  type Route,
} from "./proc.ts";

export type Status = "ok" | "warn" | "fail" | "skip";

export interface Check {
  id:
    | "interfaces"
    | "route"
    | "rp-filter"
    | "join"
    | "membership"
    | "recv-buffer"
    | "loopback"
    | "room";
  status: Status;
  /** One line: what was found. */
  summary: string;
  /** More lines worth showing (candidates, what the kernel said). */
  details: string[];
  /** What to do about it (warn and fail). */
  fix?: string;
}

/** The room as doctor checks it (from the validated options). */
export interface DoctorRoom {
  group: string;
  family: "IPv4" | "IPv6";
  port: number;
  ttl: number;
  /** Interfaces asked for with --interface; [] = the system's choice. */
  ifaces: readonly { name: string; address: string }[];
  /** --ttl 0: this host only (IPv4: the loopback; IPv6: an interface-local ff01:: group). */
  hostOnly: boolean;
  /** --source: source-specific multicast, only this sender is heard. */
  source?: string;
}

/** One interface as doctor shows it. Flags are undefined where the system does not tell. */
export interface IfaceInfo {
  name: string;
  index?: number;
  up?: boolean;
  multicast?: boolean;
  loopback?: boolean;
  addresses: string[];
}

/** The receive buffer mcchat asks for (cli.ts RECV_BUFFER). */
export const WANTED_RECV_BUFFER = 8 * 1024 * 1024;

const isLinux = (p: DoctorPlatform) => p.name === "linux";
const multicastRange = (room: DoctorRoom) => (room.family === "IPv4" ? "224.0.0.0/4" : "ff00::/8");
const ipCmd = (room: DoctorRoom) => (room.family === "IPv4" ? "ip" : "ip -6");

/** Interfaces with their flags (Linux: /sys/class/net/<if>/{flags,ifindex}) and addresses. */
export function describeInterfaces(p: DoctorPlatform): IfaceInfo[] {
  const names = new Set<string>();
  if (isLinux(p)) for (const n of parseNetDev(p.readFile("/proc/net/dev") ?? "")) names.add(n);
  const sysfs = isLinux(p) && sysfsIsOurs(p, names);
  for (const i of p.interfaces) names.add(i.name);
  const out: IfaceInfo[] = [];
  for (const name of names) {
    const info: IfaceInfo = {
      name,
      addresses: p.interfaces.filter((i) => i.name === name).map((i) => i.address),
    };
    if (sysfs) {
      const flags = parseFlags(p.readFile(`/sys/class/net/${name}/flags`));
      if (flags !== undefined) {
        info.up = (flags & IFF.UP) !== 0;
        info.multicast = (flags & IFF.MULTICAST) !== 0;
        info.loopback = (flags & IFF.LOOPBACK) !== 0;
      }
      const index = Number(p.readFile(`/sys/class/net/${name}/ifindex`)?.trim());
      if (Number.isInteger(index) && index > 0) info.index = index;
    }
    if (!isLinux(p)) {
      // Elsewhere the system's own listing (net/interfaces.ts) knows what it can: the index
      // (Windows: an IPv6 scope id), flags where given.
      const known = p.interfaces.filter((i) => i.name === name);
      const index = known.find((i) => i.index !== undefined)?.index;
      if (index !== undefined) info.index = index;
      const up = known.find((i) => i.up !== undefined)?.up;
      if (up !== undefined) info.up = up;
      const multicast = known.find((i) => i.multicast !== undefined)?.multicast;
      if (multicast !== undefined) info.multicast = multicast;
    }
    if (info.loopback === undefined) {
      const internal = p.interfaces.find((i) => i.name === name)?.internal;
      if (internal !== undefined) info.loopback = internal;
    }
    out.push(info);
  }
  return out.sort((a, b) => (a.index ?? 1e9) - (b.index ?? 1e9) || a.name.localeCompare(b.name));
}

/**
 * /sys shows the network namespace of whoever mounted it: after `unshare -n` without a
 * remount it describes another namespace's interfaces. Trusted only when it lists exactly
 * the interfaces /proc/net/dev (always ours) lists.
 */
export function sysfsIsOurs(p: DoctorPlatform, names: ReadonlySet<string>): boolean {
  const listed = p.listDir?.("/sys/class/net");
  if (!listed) return names.size > 0;
  return listed.length === names.size && listed.every((n) => names.has(n));
}

/**
 * Interfaces that can carry the room: up, not loopback, an address in the family. The
 * MULTICAST flag is not required: Linux sends, joins and receives IPv4 multicast on a
 * device without it (measured on lab hosts); it is reported as a warning.
 */
export function candidateInterfaces(room: DoctorRoom, p: DoctorPlatform): string[] {
  const infos = describeInterfaces(p);
  return infos
    .filter((i) => i.up !== false && i.loopback !== true)
    .filter((i) =>
      p.interfaces.some((a) => a.name === i.name && a.family === room.family && !a.internal),
    )
    .map((i) => i.name);
}

function flagWords(i: IfaceInfo): string {
  const words: string[] = [];
  if (i.up !== undefined) words.push(i.up ? "up" : "down");
  if (i.loopback) words.push("loopback");
  if (i.multicast !== undefined) words.push(i.multicast ? "multicast" : "no-multicast");
  return words.join(" ") || "flags unknown";
}

/** One line per interface: "eth0 (2) up multicast: 198.18.0.1, fe80::1". */
export function interfaceLines(infos: readonly IfaceInfo[]): string[] {
  return infos.map(
    (i) =>
      `${i.name}${i.index !== undefined ? ` (${i.index})` : ""} ${flagWords(i)}: ${
        i.addresses.join(", ") || "no address"
      }`,
  );
}

/** Why a missing MULTICAST flag is only a warning. */
const NO_FLAG_NOTE =
  "Linux still carries IPv4 multicast there, but other systems, some drivers and programs that pick interfaces by the flag do not";

export function checkInterfaces(room: DoctorRoom, p: DoctorPlatform): Check {
  const infos = describeInterfaces(p);
  const details = interfaceLines(infos);
  const unknownFlags = !infos.every((i) => i.multicast === undefined)
    ? []
    : isLinux(p)
      ? ["(interface flags unknown: /sys/class/net shows another network namespace)"]
      : [`(interface flags are read on Linux only; this is ${p.name})`];
  if (room.ifaces.length > 0) {
    const down = room.ifaces.filter((w) => infos.find((x) => x.name === w.name)?.up === false);
    const noFlag = room.ifaces.filter((w) => {
      const i = infos.find((x) => x.name === w.name);
      return i?.multicast === false && !i.loopback;
    });
    const names = room.ifaces.map((i) => `${i.name} (${i.address})`).join(", ");
    if (down.length > 0) {
      return {
        id: "interfaces",
        status: "fail",
        summary: `--interface ${names}: ${down.map((i) => i.name).join(", ")} is down`,
        details,
        fix: `${down.map((i) => `ip link set ${i.name} up`).join("; ")}, or pass another --interface`,
      };
    }
    if (noFlag.length > 0) {
      return {
        id: "interfaces",
        status: "warn",
        summary: `--interface ${names}: ${noFlag.map((i) => i.name).join(", ")} has no MULTICAST flag`,
        details: [...details, NO_FLAG_NOTE],
        fix: noFlag.map((i) => `ip link set ${i.name} multicast on`).join("; "),
      };
    }
    return {
      id: "interfaces",
      status: "ok",
      summary: `joining on ${names}`,
      details: [...details, ...unknownFlags],
    };
  }
  const candidates = candidateInterfaces(room, p);
  if (room.hostOnly) {
    return {
      id: "interfaces",
      status: "ok",
      summary: "--ttl 0: this host only",
      details,
    };
  }
  if (candidates.length === 0) {
    return {
      id: "interfaces",
      status: "warn",
      summary: `no interface but the loopback is up with an ${room.family} address: only this host can be in the room`,
      details: [...details, ...unknownFlags],
      fix: "connect a network (ip link set <if> up), or use --ttl 0 for a room on this host only",
    };
  }
  const noFlag = candidates.filter((c) => infos.find((i) => i.name === c)?.multicast === false);
  if (noFlag.length > 0) {
    return {
      id: "interfaces",
      status: "warn",
      summary: `${candidates.join(", ")} can carry the room, but ${noFlag.join(", ")} has no MULTICAST flag`,
      details: [...details, NO_FLAG_NOTE],
      fix: noFlag.map((d) => `ip link set ${d} multicast on`).join("; "),
    };
  }
  return {
    id: "interfaces",
    status: "ok",
    summary: `${candidates.length === 1 ? "1 interface" : `${candidates.length} interfaces`} can carry the room: ${candidates.join(", ")}`,
    details: [...details, ...unknownFlags],
  };
}

/** The route a datagram to the group takes (Linux), or undefined. */
export function routeToGroup(
  room: DoctorRoom,
  p: DoctorPlatform,
): { route: Route; ties: Route[] } | undefined {
  const routes =
    room.family === "IPv4"
      ? parseRoute4(p.readFile("/proc/net/route") ?? "", p.endianness)
      : parseRoute6(p.readFile("/proc/net/ipv6_route") ?? "");
  return lookupRoute(routes, room.group);
}

function describeRoute(r: Route): string {
  return `${r.prefix}${r.gateway ? ` via ${r.gateway}` : ""} dev ${r.dev}${r.metric ? ` metric ${r.metric}` : ""}`;
}

export function checkRoute(room: DoctorRoom, p: DoctorPlatform): Check {
  if (!isLinux(p)) {
    const how =
      p.name === "darwin"
        ? `route -n get ${room.group}`
        : p.name === "win32"
          ? "route print"
          : "the system's route command";
    return {
      id: "route",
      status: "skip",
      summary: `route tables are read from /proc on Linux only (${p.name}: see ${how})`,
      details: [],
    };
  }
  const range = multicastRange(room);
  const candidates = candidateInterfaces(room, p);
  const dev = candidates[0] ?? "<if>";
  const infos = describeInterfaces(p);
  const found = routeToGroup(room, p);
  const sendOn = room.ifaces[0];
  if (room.hostOnly) {
    return {
      id: "route",
      status: "ok",
      summary:
        room.family === "IPv4"
          ? "--ttl 0: joined and sent on the loopback, no route needed"
          : `--ttl 0: ${room.group} is interface-local: the kernel loops it back and never transmits it`,
      details: found ? [`the table would use ${describeRoute(found.route)}`] : [],
    };
  }
  if (sendOn) {
    return {
      id: "route",
      status: "ok",
      summary: `sent on ${sendOn.name} (--interface): the route table is not consulted`,
      details: found
        ? [`without --interface: ${describeRoute(found.route)}`]
        : [`without --interface there would be no route for ${room.group}`],
    };
  }
  if (!found) {
    return {
      id: "route",
      status: "fail",
      summary: `no route for ${room.group} (no ${range} route, no default route): the join and every send fail`,
      details: [],
      fix: `add one (${ipCmd(room)} route add ${range} dev ${dev}) or pass --interface ${dev}`,
    };
  }
  const { route, ties } = found;
  const info = infos.find((i) => i.name === route.dev);
  const via = route.prefixLength === 0 ? " (the default route)" : "";
  const summary = `${room.group} → ${describeRoute(route)}${via}`;
  const details: string[] = [];
  if (route.gateway) {
    details.push(
      `multicast is sent on ${route.dev} directly; the gateway ${route.gateway} is not used`,
    );
  }
  if (info?.up === false) {
    const other = candidates.find((c) => c !== route.dev);
    return {
      id: "route",
      status: "fail",
      summary: `${summary}, but ${route.dev} is down`,
      details,
      fix: `ip link set ${route.dev} up${other ? `, or pass --interface ${other}` : ""}`,
    };
  }
  // The loopback needs no MULTICAST flag; elsewhere its absence is reported by "interfaces".
  if (info?.loopback) {
    return {
      id: "route",
      status: "warn",
      summary: `${summary}: only this host hears the room`,
      details,
      fix: candidates.length
        ? `${ipCmd(room)} route replace ${range} dev ${dev}, or pass --interface ${dev} (or --ttl 0 if this host only is meant)`
        : "use --ttl 0 for a room on this host only, or connect a network",
    };
  }
  const others = ties.map((t) => t.dev).filter((d) => d !== route.dev && d !== "lo");
  if (others.length > 0) {
    return {
      id: "route",
      status: "warn",
      summary: `${summary}; ${route.prefix} is on ${others.join(", ")} too: without --interface the kernel picks one of them`,
      details,
      fix: `pass --interface to choose (e.g. --interface ${route.dev}), or -i all`,
    };
  }
  if (route.prefixLength === 0 && candidates.length > 1) {
    return {
      id: "route",
      status: "warn",
      summary: `${summary}; ${candidates.length} interfaces could carry the room`,
      details,
      fix: `choose: ${ipCmd(room)} route add ${range} dev <if>, or pass --interface <if> (one of ${candidates.join(", ")})`,
    };
  }
  const elsewhere = candidates.filter((c) => c !== route.dev);
  if (elsewhere.length > 0) {
    details.push(
      `${elsewhere.join(", ")} can carry multicast too, but the room is joined on ${route.dev} only: -i all joins every interface`,
    );
  }
  return { id: "route", status: "ok", summary, details };
}

/**
 * Reverse-path filtering (IPv4, Linux): in strict mode (1) a datagram is dropped when the
 * route back to its sender leaves by another interface, multicast included: on a host with
 * several interfaces, members heard on the "wrong" one vanish. The value used is the
 * higher of conf/all and conf/<dev>.
 */
export function checkRpFilter(room: DoctorRoom, p: DoctorPlatform): Check {
  if (room.family !== "IPv4" || !isLinux(p)) {
    return {
      id: "rp-filter",
      status: "skip",
      summary:
        room.family !== "IPv4"
          ? "reverse-path filtering is IPv4's (net.ipv4.conf.*.rp_filter)"
          : `rp_filter is read on Linux only (${p.name})`,
      details: [],
    };
  }
  const devs =
    room.ifaces.length > 0 ? room.ifaces.map((i) => i.name) : candidateInterfaces(room, p);
  const read = (name: string) => {
    const n = Number(p.readFile(`/proc/sys/net/ipv4/conf/${name}/rp_filter`)?.trim());
    return Number.isInteger(n) ? n : undefined;
  };
  const all = read("all") ?? 0;
  const modes = devs.map((d) => ({ dev: d, mode: Math.max(all, read(d) ?? 0) }));
  const words = ["off", "strict", "loose"];
  const details = modes.map((m) => `${m.dev}: rp_filter ${m.mode} (${words[m.mode] ?? "?"})`);
  const strict = modes.filter((m) => m.mode === 1).map((m) => m.dev);
  const several = candidateInterfaces(room, p).length > 1 || room.ifaces.length > 1;
  if (strict.length > 0 && several) {
    return {
      id: "rp-filter",
      status: "warn",
      summary: `strict reverse-path filtering on ${strict.join(", ")}: members whose route back leaves by another interface are dropped`,
      details,
      fix: strict
        .map((d) => `sudo sysctl -w net.ipv4.conf.${d}.rp_filter=2`)
        .concat(all === 1 ? ["sudo sysctl -w net.ipv4.conf.all.rp_filter=2"] : [])
        .join("; "),
    };
  }
  return {
    id: "rp-filter",
    status: "ok",
    summary:
      strict.length > 0
        ? "strict reverse-path filtering, harmless with one interface"
        : modes.length > 0
          ? "no strict reverse-path filtering"
          : "no interface to check",
    details,
  };
}

/** The interfaces the room should be joined on: those asked for, else the route's device. */
export function expectedJoinDevices(room: DoctorRoom, p: DoctorPlatform): string[] {
  if (room.ifaces.length > 0) return room.ifaces.map((i) => i.name);
  if (room.hostOnly) {
    return describeInterfaces(p)
      .filter((i) => i.loopback)
      .map((i) => i.name);
  }
  const found = routeToGroup(room, p);
  return found ? [found.route.dev] : [];
}

/** The join itself: the transport opened (undefined) or failed with this message. */
export function checkJoin(
  room: DoctorRoom,
  error: string | undefined,
  where: { sendInterface?: string; joinedOn?: readonly string[] } = {},
  /** An interface to name in the fix (the first that can carry the room). */
  candidate = "<if>",
): Check {
  const ports = `ports ${room.port} (legacy text) and ${framedPort(room.port)} (frames)`;
  if (error === undefined) {
    return {
      id: "join",
      status: "ok",
      summary: `joined ${room.group} on ${ports}`,
      details: [
        where.joinedOn?.length
          ? `joined on ${where.joinedOn.join(", ")}`
          : "joined on the interface the system picks (the route)",
        where.sendInterface
          ? `sending on ${where.sendInterface}`
          : "sending on the interface the system picks (the route)",
      ],
    };
  }
  const range = multicastRange(room);
  let fix = `check the route (${ipCmd(room)} route get ${room.group}) or pass --interface`;
  if (/in use|EADDRINUSE/.test(error)) {
    fix = `another program holds port ${room.port} or ${framedPort(room.port)} without SO_REUSEADDR: see ss -ulpn 'sport = :${room.port}' (or use another --port)`;
  } else if (/no such device|ENODEV|no route|ENETUNREACH/.test(error)) {
    fix = `add a route (${ipCmd(room)} route add ${range} dev ${candidate}) or pass --interface ${candidate}`;
  } else if (/permission|EACCES|EPERM/.test(error)) {
    fix = "a firewall or security policy refused the socket; check it (nft list ruleset)";
  }
  return { id: "join", status: "fail", summary: `cannot join: ${error}`, details: [], fix };
}

/** After joining: is the group in /proc/net/igmp(6), on the expected interfaces? */
export function checkMembership(room: DoctorRoom, p: DoctorPlatform, joined: boolean): Check {
  const file = room.family === "IPv4" ? "/proc/net/igmp" : "/proc/net/igmp6";
  if (!isLinux(p)) {
    return {
      id: "membership",
      status: "skip",
      summary: `memberships are read from ${file} on Linux only (${p.name}: ${p.name === "win32" ? "netsh interface ip show joins" : "netstat -g"})`,
      details: [],
    };
  }
  if (!joined) {
    return {
      id: "membership",
      status: "skip",
      summary: "not joined: nothing to look for",
      details: [],
    };
  }
  const text = p.readFile(file);
  if (text === undefined) {
    return { id: "membership", status: "skip", summary: `${file} cannot be read`, details: [] };
  }
  const all: Membership[] =
    room.family === "IPv4" ? parseIgmp(text, p.endianness) : parseIgmp6(text);
  const mine = all.filter((m) => m.group === room.group);
  const expected = expectedJoinDevices(room, p);
  const details = mine.map((m) => `${m.dev}: ${m.users} socket${m.users === 1 ? "" : "s"}`);
  if (mine.length === 0) {
    return {
      id: "membership",
      status: "fail",
      summary: `${room.group} is not in ${file} although the join succeeded`,
      details,
      fix: membershipFix(expected, p),
    };
  }
  const on = mine.map((m) => m.dev);
  // Source-specific joins need IGMPv3: an interface that heard a v1/v2 querier speaks that
  // version, and routers and snooping switches then forward the whole group, or nothing.
  const old = room.source ? mine.filter((m) => (m.igmpVersion ?? 3) < 3) : [];
  if (old.length > 0) {
    return {
      id: "membership",
      status: "warn",
      summary: `${room.group} joined on ${on.join(", ")}, but ${old.map((m) => `${m.dev} speaks IGMPv${m.igmpVersion}`).join(", ")}: --source needs IGMPv3`,
      details,
      fix: `${old.map((m) => `sudo sysctl -w net.ipv4.conf.${m.dev}.force_igmp_version=3`).join("; ")}, and ask for an IGMPv3 querier on the network`,
    };
  }
  const missing = expected.filter((d) => !on.includes(d));
  if (missing.length > 0) {
    return {
      id: "membership",
      status: "warn",
      summary: `${room.group} joined on ${on.join(", ")}, not on ${missing.join(", ")} where the room is sent`,
      details,
      fix: `pass --interface ${missing[0]} so that the join and the sends use one interface`,
    };
  }
  return {
    id: "membership",
    status: "ok",
    summary: `${room.group} joined on ${on.join(", ")} (${file})`,
    details,
  };
}

function membershipFix(expected: readonly string[], p: DoctorPlatform): string {
  const infos = describeInterfaces(p);
  const off = expected.filter((d) => infos.find((i) => i.name === d)?.multicast === false);
  const flags = off.map((d) => `; ip link set ${d} multicast on`).join("");
  return `the kernel did not keep the membership: pass --interface${flags}, and see ip maddr show`;
}

/** net.core.rmem_max against the 8 MiB mcchat asks for; `given` = what the socket got. */
export function checkRecvBuffer(p: DoctorPlatform, given?: number): Check {
  const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
  // Linux's getsockopt reports twice what it gave (the other half is bookkeeping).
  const got =
    given !== undefined && given > 0
      ? [
          `the room's socket got ${kib(given / 2)} (the kernel reports ${kib(given)}: it doubles the size)`,
        ]
      : [];
  if (!isLinux(p)) {
    return {
      id: "recv-buffer",
      status: "skip",
      summary: `net.core.rmem_max is Linux's (${p.name})${given ? `; the socket got ${kib(given)}` : ""}`,
      details: [],
    };
  }
  const max = Number(p.readFile("/proc/sys/net/core/rmem_max")?.trim());
  if (!Number.isInteger(max) || max <= 0) {
    return {
      id: "recv-buffer",
      status: "skip",
      summary: "/proc/sys/net/core/rmem_max cannot be read",
      details: got,
    };
  }
  if (max < WANTED_RECV_BUFFER) {
    return {
      id: "recv-buffer",
      status: "warn",
      summary: `net.core.rmem_max is ${kib(max)}, mcchat asks for ${kib(WANTED_RECV_BUFFER)}: bursts may need more repairs`,
      details: got,
      fix: `sudo sysctl -w net.core.rmem_max=${WANTED_RECV_BUFFER} (to keep it: echo net.core.rmem_max=${WANTED_RECV_BUFFER} | sudo tee /etc/sysctl.d/60-mcchat.conf)`,
    };
  }
  return {
    id: "recv-buffer",
    status: "ok",
    summary: `net.core.rmem_max is ${kib(max)} (mcchat asks for ${kib(WANTED_RECV_BUFFER)})`,
    details: got,
  };
}

/** What the loop-back probe saw. */
export interface LoopbackResult {
  /** Probes sent (one REPORT frame each, which members ignore). */
  sent: number;
  /** ms from the first probe to the first one heard back; undefined = none came back. */
  ms?: number;
  /** Send errors (text), if any. */
  errors: string[];
  /** How long it waited, in ms. */
  waitedMs: number;
  /** Sealed datagrams were heard: the room is encrypted, and no probe went out after that. */
  encrypted?: boolean;
}

export function checkLoopback(room: DoctorRoom, r: LoopbackResult | undefined): Check {
  if (!r)
    return { id: "loopback", status: "skip", summary: "not joined: nothing sent", details: [] };
  if (room.source) {
    return {
      id: "loopback",
      status: "skip",
      summary: `--source: only ${room.source} is heard, so our own datagram cannot come back (not sent)`,
      details: [],
    };
  }
  if (r.ms === undefined && r.encrypted) {
    return {
      id: "loopback",
      status: "skip",
      summary: `the room is encrypted (sealed datagrams heard): doctor sent nothing into it, so our own datagram's loop-back was not checked`,
      details: [
        "a plaintext probe would reach every member as a datagram it cannot decrypt (a false wrong-passphrase warning)",
        ...r.errors,
      ],
    };
  }
  if (r.ms === undefined && r.sent === 0) {
    return {
      id: "loopback",
      status: "skip",
      summary: "stopped before the first probe: nothing sent",
      details: r.errors,
    };
  }
  if (r.ms !== undefined) {
    return {
      id: "loopback",
      status: "ok",
      summary: `our own datagram came back through the group in ${r.ms < 1 ? "<1" : Math.round(r.ms)} ms`,
      details: r.errors,
    };
  }
  const range = multicastRange(room);
  const unreachable = r.errors.some((e) => /ENETUNREACH|unreachable|no route/i.test(e));
  return {
    id: "loopback",
    status: "fail",
    summary: `sent ${r.sent} datagram${r.sent === 1 ? "" : "s"} to ${room.group}:${framedPort(room.port)}, none came back in ${(r.waitedMs / 1000).toFixed(1)} s${r.errors.length ? ` (send failed: ${r.errors[0]})` : ""}`,
    details: r.errors.slice(1),
    fix: unreachable
      ? `add a route (${ipCmd(room)} route add ${range} dev <if>) or pass --interface <if>`
      : `a firewall may drop UDP to port ${framedPort(room.port)} (nft list ruleset; iptables -L INPUT); check the route and the interface (ip route get ${room.group}; ip link)`,
  };
}
