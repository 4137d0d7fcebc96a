/** doctor's report as text for a terminal (colours via picocolors) or as one JSON document. */
import type { Colors } from "../ui/colors.ts";
import type { CensusResult } from "./census.ts";
import type { Check, DoctorRoom, IfaceInfo, Status } from "./checks.ts";

/** Everything doctor found: printed as text or as one JSON document. */
export interface DoctorReport {
  room: DoctorRoom & { framedPort: number };
  platform: string;
  interfaces: IfaceInfo[];
  checks: Check[];
  heard?: CensusResult;
  listenedSeconds: number;
  ok: boolean;
}

const LABEL: Record<Status, string> = { ok: "ok", warn: "warn", fail: "FAIL", skip: "n/a" };
const WIDTH = "recv-buffer".length;

function paint(status: Status, c: Colors): (s: string) => string {
  if (status === "ok") return c.green;
  if (status === "warn") return c.yellow;
  if (status === "fail") return (s) => c.bold(c.red(s));
  return c.dim;
}

function checkLines(check: Check, c: Colors): string[] {
  const pad = " ".repeat(2 + 4 + 1 + WIDTH + 2);
  const out = [
    `  ${paint(check.status, c)(LABEL[check.status].padEnd(4))} ${check.id.padEnd(WIDTH)}  ${check.summary}`,
  ];
  for (const d of check.details) out.push(`${pad}${c.dim(d)}`);
  if (check.fix && check.status !== "ok")
    out.push(`${pad}${paint(check.status, c)("fix:")} ${check.fix}`);
  return out;
}

export function renderHuman(r: DoctorReport, c: Colors): string[] {
  const { room } = r;
  const where = room.ifaces.length
    ? `, interface ${room.ifaces.map((i) => i.name).join(", ")}`
    : "";
  const lines = [
    c.bold(
      `mcchat doctor: room ${room.group} port ${room.port} (frames on ${room.framedPort}), ${room.family}, ttl ${room.ttl}${where}, ${r.platform}`,
    ),
  ];
  for (const check of r.checks) lines.push(...checkLines(check, c));
  const fails = r.checks.filter((x) => x.status === "fail").length;
  const warns = r.checks.filter((x) => x.status === "warn").length;
  const skips = r.checks.filter((x) => x.status === "skip").map((x) => x.id);
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? "" : "s"}`;
  let verdict: string;
  if (fails > 0) {
    verdict = c.bold(
      c.red(`verdict: ${n(fails, "check")} failed${warns ? `, ${n(warns, "warning")}` : ""}`),
    );
  } else if (warns > 0) {
    verdict = c.yellow(`verdict: no check failed, ${n(warns, "warning")}`);
  } else {
    verdict = c.green("verdict: all checks passed");
  }
  if (skips.length) verdict += c.dim(` (skipped: ${skips.join(", ")})`);
  lines.push(verdict);
  return lines;
}

/** One line of JSON: the whole report (no colours, no terminal escapes). */
export function renderJson(r: DoctorReport): string {
  return JSON.stringify({
    ok: r.ok,
    room: r.room,
    platform: r.platform,
    interfaces: r.interfaces,
    checks: r.checks.map(({ id, status, summary, details, fix }) => ({
      id,
      status,
      summary,
      details,
      ...(fix && status !== "ok" ? { fix } : {}),
    })),
    listenedSeconds: r.listenedSeconds,
    members: r.heard?.members ?? [],
    legacy: r.heard?.legacy ?? [],
    encrypted: r.heard?.encrypted ?? [],
    otherDatagrams: r.heard?.other ?? 0,
  });
}
