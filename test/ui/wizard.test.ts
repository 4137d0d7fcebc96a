import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { CancelledError } from "../../src/errors.ts";
import { MAX_NICK_BYTES } from "../../src/protocol/constants.ts";
import { runWizard, type WizardAnswers, type WizardOptions } from "../../src/ui/wizard.ts";
import { waitFor } from "../helpers/events.ts";

const DEFAULTS: WizardAnswers = {
  group: "239.1.100.1",
  port: 25000,
  encoding: "utf8",
  legacy: false,
  nick: "bob",
  ttl: 1,
};
const IFACES = [
  { name: "lo", address: "127.0.0.1", internal: true },
  { name: "eth0", address: "10.0.0.5" },
  { name: "eth0", address: "fe80::1" },
];

const ENTER = "\r";
const DOWN = "\x1b[B";
const CTRL_C = "\x03";
const BACKSPACE = "\x7f";

/** A fake terminal: `steps` are [text to wait for in the output, keys to type then]. */
function terminal(steps: [string, string[]][]) {
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode: () => input,
  });
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 40 });
  let seen = "";
  let from = 0;
  output.on("data", (chunk: Buffer) => {
    seen += chunk.toString();
    const step = steps[0];
    if (!step) return;
    const at = seen.indexOf(step[0], from);
    if (at < 0) return;
    from = at + step[0].length;
    steps.shift();
    // Type after the prompt has finished rendering and listens for keys.
    setTimeout(() => {
      for (const key of step[1]) input.write(key);
    }, 5);
  });
  return { input, output, text: () => seen, pending: () => steps.length };
}

function run(t: ReturnType<typeof terminal>, opts: Partial<WizardOptions> = {}) {
  return runWizard({
    defaults: DEFAULTS,
    interfaces: IFACES,
    input: t.input,
    output: t.output,
    ...opts,
  });
}

const active = (message: string) => `◆  ${message}`;
const PROMPTS = {
  group: active("Multicast group"),
  port: active("UDP port"),
  encoding: active("Text encoding"),
  other: active("Encoding name"),
  legacy: active("Are classic (legacy) chat programs in this room?"),
  passphrase: active("Passphrase for a private room (empty: open room)"),
  save: active("Save the passphrase in the config file?"),
  keep: active("Keep the saved passphrase (a private room)?"),
  nick: active("Nickname"),
  iface: active("Network interface"),
  ttl: active("TTL"),
};
/** Every prompt in order, when there are interfaces to choose from. */
const EVERY = [
  PROMPTS.group,
  PROMPTS.port,
  PROMPTS.encoding,
  PROMPTS.legacy,
  PROMPTS.passphrase,
  PROMPTS.nick,
  PROMPTS.iface,
  PROMPTS.ttl,
];
/** Every prompt in order, with no interfaces (no interface prompt). */
const NO_IFACE = EVERY.filter((p) => p !== PROMPTS.iface);
/** Steps for terminal(): Enter at each of `prompts`. */
const enterAt = (prompts: string[]): [string, string[]][] => prompts.map((p) => [p, [ENTER]]);

describe("runWizard", () => {
  test("Enter on every prompt returns the defaults", async () => {
    const t = terminal(enterAt(EVERY));
    expect(await run(t)).toEqual(DEFAULTS);
    expect(t.pending()).toBe(0);
    expect(t.text()).toContain("Setup done.");
  });

  test("defaults given by name/alias are preselected and normalised", async () => {
    const t = terminal(enterAt(EVERY));
    const defaults = { ...DEFAULTS, encoding: "GBK", interface: "eth0" };
    expect(await run(t, { defaults })).toEqual({
      ...DEFAULTS,
      encoding: "gbk",
      interface: "eth0",
    });
    // An IPv4 room: the interfaces' IPv4 addresses are shown, not their IPv6 ones.
    expect(t.text()).toContain("eth0 (10.0.0.5)");
    expect(t.text()).not.toContain("fe80::1");
  });

  // The defaults are placeholders: typed text replaces them (it used to be appended:
  // typing 239.5.5.5 gave 239.1.100.1239.5.5.5), Enter alone accepts them.
  test("typing over a default replaces it", async () => {
    const t = terminal([
      [PROMPTS.group, ["239.5.5.5", ENTER]],
      [PROMPTS.port, ["26000", ENTER]],
      ...enterAt(NO_IFACE.slice(2, -2)),
      [PROMPTS.nick, ["carol", ENTER]],
      [PROMPTS.ttl, ["3", ENTER]],
    ]);
    expect(await run(t, { interfaces: [] })).toEqual({
      ...DEFAULTS,
      group: "239.5.5.5",
      port: 26000,
      nick: "carol",
      ttl: 3,
    });
  });

  // Keys that arrive together (a paste from a slide) answer the prompts after the first:
  // clack stopped listening inside the first Enter and the rest of the chunk was lost.
  test("type-ahead: a pasted group⏎port⏎ fills both answers", async () => {
    const t = terminal([[PROMPTS.group, ["239.1.100.7\r26000\r"]], ...enterAt(NO_IFACE.slice(2))]);
    expect(await run(t, { interfaces: [] })).toEqual({
      ...DEFAULTS,
      group: "239.1.100.7",
      port: 26000,
    });
  });

  test("type-ahead: a whole paste of answers, Enter for the rest", async () => {
    const t = terminal([[PROMPTS.group, [`239.1.100.8\r26002\r\r\r\rdave\r\r`]]]);
    expect(await run(t, { interfaces: [] })).toEqual({
      ...DEFAULTS,
      group: "239.1.100.8",
      port: 26002,
      nick: "dave",
    });
  });

  // The wizard checks with the command line's rules: it never saves a room `mcchat -y` refuses.
  test("port 65535 is refused in a framed room with the command line's reason; fine with --raw", async () => {
    const t = terminal([
      [PROMPTS.group, [ENTER]],
      [PROMPTS.port, ["65535", ENTER]],
      ["a framed room also uses port 65536", [...Array(5).fill(BACKSPACE), "65534", ENTER]],
      ...enterAt(NO_IFACE.slice(2)),
    ]);
    expect(await run(t, { interfaces: [] })).toEqual({ ...DEFAULTS, port: 65534 });
    expect(t.text()).toContain(
      "Port 65535: a framed room also uses port 65536, which does not exist; use --raw or a lower port",
    );
    const raw = terminal([
      [PROMPTS.group, [ENTER]],
      [PROMPTS.port, ["65535", ENTER]],
      ...enterAt(NO_IFACE.slice(2)),
    ]);
    expect(await run(raw, { interfaces: [], raw: true })).toEqual({ ...DEFAULTS, port: 65535 });
  });

  test("the all-hosts group 224.0.0.1 is warned about", async () => {
    const t = terminal([[PROMPTS.group, ["224.0.0.1", ENTER]], ...enterAt(NO_IFACE.slice(1))]);
    expect(await run(t, { interfaces: [] })).toEqual({ ...DEFAULTS, group: "224.0.0.1" });
    expect(t.text()).toContain("Group 224.0.0.1 is reserved (the all-hosts group");
    const plain = terminal(enterAt(NO_IFACE));
    await run(plain, { interfaces: [] });
    expect(plain.text()).not.toContain("reserved");
  });

  test("no interfaces: the interface prompt is skipped", async () => {
    const t = terminal(enterAt(NO_IFACE));
    expect(await run(t, { interfaces: [] })).toEqual(DEFAULTS);
    expect(t.text()).not.toContain("Network interface");
  });

  test("typed values, a rejected group, 'other…' encoding, an interface", async () => {
    const erase = (n: number) => Array(n).fill(BACKSPACE);
    const t = terminal([
      [PROMPTS.group, [...erase(20), "10.0.0.1", ENTER]],
      ["224.0.0.0 to 239.255.255.255", [...erase(20), "239.9.9.9", ENTER]],
      [PROMPTS.port, [...erase(10), "5000", ENTER]],
      [PROMPTS.encoding, Array(7).fill(DOWN).concat(ENTER)],
      [PROMPTS.other, ["nope", ENTER]],
      ['Unknown encoding "nope"', [...erase(4), "koi8-r", ENTER]],
      [PROMPTS.legacy, ["y"]], // y answers at once; a legacy room stays open: no passphrase
      [PROMPTS.nick, [...erase(10), "张三", ENTER]],
      [PROMPTS.iface, [DOWN, DOWN, ENTER]],
      [PROMPTS.ttl, [BACKSPACE, "300", ENTER]],
      ["TTL must be a whole number from 0 to 255", [...erase(3), "4", ENTER]],
    ]);
    expect(await run(t)).toEqual({
      group: "239.9.9.9",
      port: 5000,
      encoding: "koi8-r",
      legacy: true,
      nick: "张三",
      interface: "eth0",
      ttl: 4,
    });
  });

  test("Ctrl-C on the first prompt → CancelledError", async () => {
    const t = terminal([[PROMPTS.group, [CTRL_C]]]);
    const err = await run(t).catch((e) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(err.exitCode).toBe(130);
  });

  test("Esc in a select → CancelledError", async () => {
    const t = terminal([...enterAt([PROMPTS.group, PROMPTS.port]), [PROMPTS.encoding, ["\x1b"]]]);
    await expect(run(t)).rejects.toBeInstanceOf(CancelledError);
  });

  test("input is resumed for a later readline, unless asked not to", async () => {
    const a = terminal(enterAt(NO_IFACE));
    await run(a, { interfaces: [] });
    expect(a.input.isPaused()).toBe(false);
    const b = terminal(enterAt(NO_IFACE));
    await run(b, { interfaces: [], resumeInput: false });
    expect(b.input.isPaused()).toBe(true);
  });

  test("the nickname prompt states the wire's byte limit", async () => {
    const t = terminal([[PROMPTS.group, [CTRL_C]]]);
    await run(t).catch(() => {});
    const u = terminal(
      enterAt([PROMPTS.group, PROMPTS.port, PROMPTS.encoding, PROMPTS.legacy, PROMPTS.passphrase]),
    );
    const pending = run(u, { interfaces: [] }).catch((e) => e);
    await waitFor(() => u.text().includes(PROMPTS.nick), 2000, "the wizard shows nick");
    expect(u.text()).toContain(
      `Nickname (up to ${MAX_NICK_BYTES} Latin letters or ${Math.floor(MAX_NICK_BYTES / 3)} CJK characters)`,
    );
    u.input.write(CTRL_C);
    expect(await pending).toBeInstanceOf(CancelledError);
  });

  test("an aborted signal (SIGTERM, hangup) ends a waiting prompt with CancelledError", async () => {
    const t = terminal([[PROMPTS.group, [ENTER]]]);
    const controller = new AbortController();
    const pending = run(t, { signal: controller.signal }).catch((e) => e);
    await waitFor(() => t.text().includes(PROMPTS.port), 2000, "the wizard shows port");
    controller.abort();
    expect(await pending).toBeInstanceOf(CancelledError);
  });

  test("already aborted: no prompt at all", async () => {
    const t = terminal([]);
    const err = await run(t, { signal: AbortSignal.abort() }).catch((e) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(t.text()).not.toContain("◆"); // no prompt shown
  });

  test("a prompt that never settles (clack on a hung-up tty) does not hold up the abort", async () => {
    const t = terminal([]);
    const controller = new AbortController();
    const signal = controller.signal;
    // On a dead tty clack's abort listener throws while restoring raw mode and its prompt
    // never settles: drop clack's listener (the first one registered) to get exactly that.
    const add = signal.addEventListener.bind(signal);
    let dropped = 0;
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      if (dropped++ === 0) return;
      add(...args);
    }) as typeof add;
    const pending = run(t, { signal }).catch((e) => e);
    await waitFor(() => t.text().includes(PROMPTS.group), 2000, "the wizard shows group");
    controller.abort();
    expect(await pending).toBeInstanceOf(CancelledError);
    expect(dropped).toBe(2);
  });
});

describe("runWizard: the passphrase", () => {
  const before = (p: string) => EVERY.slice(0, EVERY.indexOf(p));
  const after = (p: string) => EVERY.slice(EVERY.indexOf(p) + 1);
  const SECRET = "correct horse";

  test("typed masked; saved only when asked (default no)", async () => {
    const t = terminal([
      ...enterAt(before(PROMPTS.passphrase)),
      [PROMPTS.passphrase, [...SECRET, ENTER]],
      [PROMPTS.save, [ENTER]],
      ...enterAt(after(PROMPTS.passphrase)),
    ]);
    expect(await run(t)).toEqual({ ...DEFAULTS, passphrase: SECRET, savePassphrase: false });
    expect(t.pending()).toBe(0);
    expect(t.text()).not.toContain(SECRET); // masked as it is typed, and not shown after
  });

  test("y to the save question", async () => {
    const t = terminal([
      ...enterAt(before(PROMPTS.passphrase)),
      [PROMPTS.passphrase, ["pw", ENTER]],
      [PROMPTS.save, ["y"]],
      ...enterAt(after(PROMPTS.passphrase)),
    ]);
    expect(await run(t)).toEqual({ ...DEFAULTS, passphrase: "pw", savePassphrase: true });
  });

  test("empty = an open room, no save question", async () => {
    const t = terminal(enterAt(EVERY));
    const answers = await run(t);
    expect(answers.passphrase).toBeUndefined();
    expect(t.text()).not.toContain("Save the passphrase");
  });

  test("a saved passphrase: kept by default (never shown), or replaced", async () => {
    const defaults = { ...DEFAULTS, passphrase: "old secret" };
    const keep = terminal([
      ...enterAt(before(PROMPTS.passphrase)),
      [PROMPTS.keep, [ENTER]],
      ...enterAt(after(PROMPTS.passphrase)),
    ]);
    expect(await run(keep, { defaults })).toEqual({
      ...DEFAULTS,
      passphrase: "old secret",
      savePassphrase: true,
    });
    expect(keep.text()).not.toContain("old secret");
    expect(keep.text()).not.toContain("Passphrase for a private room");

    const replace = terminal([
      ...enterAt(before(PROMPTS.passphrase)),
      [PROMPTS.keep, ["n"]],
      [PROMPTS.passphrase, [ENTER]], // empty: the room becomes open
      ...enterAt(after(PROMPTS.passphrase)),
    ]);
    expect((await run(replace, { defaults })).passphrase).toBeUndefined();
  });

  test("not asked when the passphrase comes from MCCHAT_PASSPHRASE/--passphrase-file, nor in a legacy room", async () => {
    const given = terminal(enterAt(EVERY.filter((p) => p !== PROMPTS.passphrase)));
    expect(await run(given, { askPassphrase: false })).toEqual(DEFAULTS);
    expect(given.text()).not.toContain("Passphrase");

    const legacy = terminal([
      ...enterAt(before(PROMPTS.legacy)),
      [PROMPTS.legacy, ["y"]],
      ...enterAt(after(PROMPTS.passphrase)),
    ]);
    const defaults = { ...DEFAULTS, passphrase: "old" };
    expect(await run(legacy, { defaults })).toEqual({ ...DEFAULTS, legacy: true });
    expect(legacy.text()).not.toContain("passphrase");
  });

  test("Ctrl-C at the passphrase → CancelledError", async () => {
    const t = terminal([...enterAt(before(PROMPTS.passphrase)), [PROMPTS.passphrase, [CTRL_C]]]);
    await expect(run(t)).rejects.toBeInstanceOf(CancelledError);
  });
});

describe("runWizard: IPv6, several interfaces, this host only", () => {
  const erase = (n: number) => Array(n).fill(BACKSPACE);
  const HOST = [
    { name: "lo", address: "127.0.0.1", family: "IPv4" as const, internal: true },
    { name: "lo", address: "::1", family: "IPv6" as const, internal: true },
    { name: "eth0", address: "198.18.0.2", family: "IPv4" as const, multicast: true, up: true },
    { name: "eth0", address: "fe80::a", family: "IPv6" as const, multicast: true, up: true },
    { name: "eth0", address: "fd00:18::2", family: "IPv6" as const, multicast: true, up: true },
    { name: "eth1", address: "198.19.0.2", family: "IPv4" as const, multicast: true, up: true },
    { name: "tun0", address: "10.8.0.2", family: "IPv4" as const, multicast: false, up: true },
  ];
  const upTo = (p: string) => enterAt(EVERY.slice(1, EVERY.indexOf(p)));

  test("an IPv6 group: its interfaces with their IPv6 addresses (global first), chosen by name", async () => {
    const t = terminal([
      [PROMPTS.group, [...erase(20), "FF15::0:1", ENTER]],
      ...upTo(PROMPTS.iface),
      [PROMPTS.iface, [DOWN, DOWN, ENTER]], // system default, lo, eth0
      [PROMPTS.ttl, [ENTER]],
    ]);
    expect(await run(t, { interfaces: HOST })).toEqual({
      ...DEFAULTS,
      group: "ff15::1", // canonical, as the room key's salt needs it
      interface: "eth0",
    });
    expect(t.text()).toContain("eth0 (fd00:18::2, fe80::a)");
    expect(t.text()).not.toContain("eth1"); // no IPv6 address
    expect(t.text()).not.toContain("198.18.0.2");
  });

  test("several multicast interfaces: 'all' is offered, the sending one named", async () => {
    const t = terminal([
      ...enterAt(EVERY.slice(0, EVERY.indexOf(PROMPTS.iface))),
      [PROMPTS.iface, [DOWN, ENTER]],
      [PROMPTS.ttl, [ENTER]],
    ]);
    expect(await run(t, { interfaces: HOST })).toEqual({ ...DEFAULTS, interface: "all" });
    expect(t.text()).toContain("all: eth0, eth1 (sending on eth0)");
    expect(t.text()).toContain("tun0 (10.8.0.2) - no MULTICAST flag");
    expect(t.text()).toContain("lo (127.0.0.1) - loopback");
  });

  test("a saved 'all' is preselected", async () => {
    const t = terminal(enterAt(EVERY));
    const defaults = { ...DEFAULTS, interface: "all" };
    expect(await run(t, { interfaces: HOST, defaults })).toEqual(defaults);
  });

  test("TTL 0: this host only, the interface choice is dropped and said so", async () => {
    const t = terminal([
      ...enterAt(EVERY.slice(0, EVERY.indexOf(PROMPTS.iface))),
      [PROMPTS.iface, [DOWN, DOWN, DOWN, ENTER]],
      [PROMPTS.ttl, [BACKSPACE, "0", ENTER]],
    ]);
    expect(await run(t, { interfaces: HOST })).toEqual({ ...DEFAULTS, ttl: 0 });
    expect(t.text()).toContain("TTL 0: the room stays on this host");
  });

  test("TTL 0 with an IPv6 group needs ff01::; an ff01:: group needs TTL 0 (its default)", async () => {
    const t = terminal([
      [PROMPTS.group, [...erase(20), "ff15::1", ENTER]],
      ...upTo(PROMPTS.iface),
      [PROMPTS.iface, [ENTER]],
      [PROMPTS.ttl, [BACKSPACE, "0", ENTER]],
      ["TTL 0 (this host only) needs an IPv4 group or an ff01:: group", [BACKSPACE, "2", ENTER]],
    ]);
    expect(await run(t, { interfaces: HOST })).toEqual({ ...DEFAULTS, group: "ff15::1", ttl: 2 });

    const u = terminal([
      [PROMPTS.group, [...erase(20), "ff01::1", ENTER]],
      ...upTo(PROMPTS.iface),
      [PROMPTS.iface, [ENTER]],
      [PROMPTS.ttl, [BACKSPACE, "1", ENTER]],
      ["never leaves this host: TTL must be 0", [BACKSPACE, "0", ENTER]],
    ]);
    expect(await run(u, { interfaces: HOST })).toEqual({ ...DEFAULTS, group: "ff01::1", ttl: 0 });
    const v = terminal([
      [PROMPTS.group, [...erase(20), "ff01::1", ENTER]],
      ...upTo(PROMPTS.iface),
      [PROMPTS.iface, [ENTER]],
      [PROMPTS.ttl, [ENTER]],
    ]);
    expect((await run(v, { interfaces: HOST })).ttl).toBe(0);
  });

  test("a source-specific group only with --source", async () => {
    const t = terminal([
      [PROMPTS.group, [...erase(20), "232.1.1.1", ENTER]],
      ["start mcchat with --group and --source ADDR", [...erase(20), "239.2.2.2", ENTER]],
      ...enterAt(EVERY.slice(1)),
    ]);
    expect((await run(t)).group).toBe("239.2.2.2");
    const u = terminal([
      [PROMPTS.group, [...erase(20), "232.1.1.1", ENTER]],
      ...enterAt(EVERY.slice(1)),
    ]);
    expect((await run(u, { source: "198.18.0.9" })).group).toBe("232.1.1.1");
  });
});
