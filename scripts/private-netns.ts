/**
 * The private network namespace that scripts/test.ts runs test/net in and that
 * scripts/lab-flood.ts re-executes itself in: `unshare --net --mount --pid --fork
 * --kill-child --mount-proc`, lo up with 224.0.0.0/4 routed to it, and (as root) a private
 * tmpfs on /run/netns so the lab's `ip netns` hosts exist only inside. When the run ends,
 * even killed, the kernel removes every process and namespace it made. Not root: the same
 * with --map-root-user and without /run/netns (multi-host tests then skip).
 */

/**
 * `argv` wrapped to run in a fresh private network namespace. The caller sets
 * MCCHAT_TEST_NETNS=1 in its environment (what assertPrivateNetns() checks for).
 */
export function inPrivateNetns(argv: string[], { root }: { root: boolean }): string[] {
  const setup = [
    "set -e",
    "ip link set lo up",
    "ip link set lo multicast on",
    "ip route add 224.0.0.0/4 dev lo src 127.0.0.1",
    ...(root
      ? ["mkdir -p /run/netns", "mount -t tmpfs -o mode=0755,size=1m mcc-netns /run/netns"]
      : []),
    'set +e; "$@"; exit $?',
  ].join("\n");
  return [
    "unshare",
    ...(root ? [] : ["--map-root-user"]),
    "--net",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
    "--",
    "sh",
    "-c",
    setup,
    "mcchat-netns",
    ...argv,
  ];
}

/**
 * Runs this script again (`script` with `args`) inside a fresh private network namespace as
 * root, with MCCHAT_TEST_NETNS=1, its output passed through; SIGINT/SIGTERM are forwarded
 * as SIGTERM (the inner run decides how to stop). Resolves with the inner run's exit status.
 */
export async function rerunInPrivateNetns(script: string, args: string[]): Promise<number> {
  const child = Bun.spawn({
    cmd: inPrivateNetns([process.execPath, script, ...args], { root: true }),
    env: { ...process.env, MCCHAT_TEST_NETNS: "1" },
    stdin: "ignore",
    stdout: "inherit",
    stderr: "inherit",
  });
  const stop = () => child.kill("SIGTERM");
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return await child.exited;
}
