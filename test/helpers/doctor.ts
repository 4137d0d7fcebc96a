/**
 * `mcchat doctor` on lab hosts: the shape of its --json report, a listening member for it to
 * hear, and doctor run again (bounded) until it lists whom a test waits for.
 */
import { type Host, type Proc, retryUntil, type SpawnOptions } from "./netns.ts";

export interface JsonCheck {
  id: string;
  status: "ok" | "warn" | "fail" | "skip";
  summary: string;
  details: string[];
  fix?: string;
}
export interface JsonReport {
  ok: boolean;
  checks: JsonCheck[];
  members: { nick?: string; from: string; id: string }[];
  legacy: { from: string; sample: string; bridgedBy?: string }[];
  encrypted?: { from: string; datagrams: number }[];
}
/** One doctor --json run: its exit code, its report, and the report's checks by id. */
export interface DoctorRun {
  code: number;
  report: JsonReport;
  byId: Record<string, JsonCheck>;
}

/** The report's checks by id. */
export const checksById = (report: JsonReport): Record<string, JsonCheck> =>
  Object.fromEntries(report.checks.map((c) => [c.id, c]));

/** A member `nick` in `room` on `host` that only listens (it still sends HELLO/HEARTBEAT). */
export const listeningMember = (
  host: Host,
  mcchat: string[],
  nick: string,
  room: string[],
  opts?: SpawnOptions,
): Proc =>
  host.spawn(
    [...mcchat, "--listen", "-y", "-n", nick, ...room, "--heartbeat", "300", "--timeout", "60"],
    opts,
  );

/** doctor --json on `host`, again (at most 6 runs) until `done(report)`; the last run. */
export async function doctorUntil(
  host: Host,
  mcchat: string[],
  args: string[],
  done: (r: JsonReport) => boolean,
): Promise<DoctorRun> {
  let last: DoctorRun | undefined;
  await retryUntil(
    async () => {
      const r = await host.exec([...mcchat, "doctor", "--json", "--timeout", "1.5", ...args], {
        check: false,
        timeoutMs: 20_000,
      });
      let report: JsonReport;
      try {
        report = JSON.parse(r.stdout) as JsonReport;
      } catch {
        throw new Error(
          `doctor --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`,
        );
      }
      last = { code: r.code, report, byId: checksById(report) };
    },
    () => last !== undefined && done(last.report),
    { attempts: 6, intervalMs: 10, what: "doctor hearing whom the test waits for" },
  ).catch((e: Error) => {
    // Not heard in 6 runs: the assertions on the last report say what is missing. No report
    // at all: doctor's own error is the failure.
    if (!last) throw e;
  });
  if (!last) throw new Error("doctor never ran");
  return last;
}
