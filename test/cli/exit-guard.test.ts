import { describe, expect, test } from "bun:test";
import { EXIT_GRACE_MS, exitGuard, stopStatus } from "../../src/exit-guard.ts";

/** Resolves once `exit` has been called (bounded). */
function recorder() {
  const calls: number[] = [];
  let wake: () => void = () => {};
  return {
    calls,
    exit(code: number) {
      calls.push(code);
      wake();
    },
    next(timeoutMs = 2000): Promise<number> {
      if (calls.length > 0) return Promise.resolve(calls[0] as number);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("exit never called")), timeoutMs);
        wake = () => {
          clearTimeout(t);
          resolve(calls[0] as number);
        };
      });
    },
  };
}

describe("exit statuses", () => {
  test("128 + signal; a hung-up terminal is SIGHUP; EPIPE is a normal end", () => {
    expect(stopStatus("SIGHUP")).toBe(129);
    expect(stopStatus("SIGINT")).toBe(130);
    expect(stopStatus("SIGTERM")).toBe(143);
    expect(stopStatus("hangup")).toBe(129);
    expect(stopStatus("epipe")).toBe(0);
  });
});

describe("exitGuard", () => {
  test("the first signal aborts and arms the watchdog; it exits after the grace period", async () => {
    const r = recorder();
    const g = exitGuard(r.exit, 50);
    expect(g.signal.aborted).toBe(false);
    const t0 = performance.now();
    g.stop("SIGTERM");
    expect(g.signal.aborted).toBe(true);
    expect(g.reason).toBe("SIGTERM");
    expect(r.calls).toEqual([]); // the orderly exit gets its chance first
    expect(await r.next()).toBe(143);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  });

  test("a second SIGINT/SIGTERM exits at once", () => {
    for (const second of ["SIGINT", "SIGTERM"] as const) {
      const r = recorder();
      const g = exitGuard(r.exit, 60_000);
      g.stop("SIGINT");
      expect(r.calls).toEqual([]);
      g.stop(second);
      expect(r.calls).toEqual([second === "SIGINT" ? 130 : 143]);
    }
  });

  test("a repeated SIGHUP, or a hangup/EPIPE noticed after a signal, does not cut the BYE short", () => {
    const r = recorder();
    const g = exitGuard(r.exit, 60_000);
    g.stop("SIGHUP");
    g.stop("SIGHUP");
    g.stop("hangup");
    g.stop("epipe");
    expect(r.calls).toEqual([]);
    expect(g.reason).toBe("SIGHUP");
    g.stop("SIGTERM"); // but a real second signal does
    expect(r.calls).toEqual([143]);
  });

  test("a hangup noticed first (stdin closed), then SIGHUP: still one orderly exit", () => {
    const r = recorder();
    const g = exitGuard(r.exit, 60_000);
    g.stop("hangup");
    g.stop("SIGHUP");
    expect(r.calls).toEqual([]);
    expect(g.reason).toBe("hangup");
  });

  test("once the orderly exit has its status, the watchdog uses it", async () => {
    const r = recorder();
    const g = exitGuard(r.exit, 30);
    g.stop("SIGTERM");
    g.settle(0);
    expect(await r.next()).toBe(0);
  });

  test("EPIPE: the watchdog's status is 0", async () => {
    const r = recorder();
    const g = exitGuard(r.exit, 10);
    g.stop("epipe");
    expect(await r.next()).toBe(0);
  });

  test("nothing happens without a stop request", async () => {
    const r = recorder();
    const g = exitGuard(r.exit, 10);
    await Bun.sleep(50);
    expect(r.calls).toEqual([]);
    expect(g.signal.aborted).toBe(false);
    expect(EXIT_GRACE_MS).toBeLessThan(1000);
  });
});
