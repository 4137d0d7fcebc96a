import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configPath, loadConfig, saveConfig } from "../../src/config/store.ts";
import { UserError } from "../../src/errors.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcchat-store-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;
const isRoot = process.getuid?.() === 0;

describe("configPath", () => {
  test("XDG_CONFIG_HOME wins when absolute", () => {
    expect(configPath({ XDG_CONFIG_HOME: "/x/cfg", HOME: "/home/a" })).toBe(
      "/x/cfg/mcchat/config.json",
    );
  });
  test("else ~/.config (empty or relative XDG ignored)", () => {
    expect(configPath({ HOME: "/home/a" })).toBe("/home/a/.config/mcchat/config.json");
    expect(configPath({ XDG_CONFIG_HOME: "", HOME: "/home/a" })).toBe(
      "/home/a/.config/mcchat/config.json",
    );
    expect(configPath({ XDG_CONFIG_HOME: "rel", HOME: "/home/a" })).toBe(
      "/home/a/.config/mcchat/config.json",
    );
    expect(configPath({}, () => "/home/b")).toBe("/home/b/.config/mcchat/config.json");
  });
});

describe("loadConfig", () => {
  test("missing file → {}", async () => {
    expect(await loadConfig(join(dir, "nope", "config.json"))).toEqual({});
  });

  test("keeps known keys, ignores unknown ones and nulls", async () => {
    const p = join(dir, "c.json");
    await writeFile(
      p,
      JSON.stringify({
        group: "239.1.2.3",
        port: 5000,
        encoding: "gbk",
        legacy: true,
        nick: "张三",
        interface: "eth0",
        ttl: 2,
        x: 1,
        ttl2: null,
      }),
    );
    expect(await loadConfig(p)).toEqual({
      group: "239.1.2.3",
      port: 5000,
      encoding: "gbk",
      legacy: true,
      nick: "张三",
      interface: "eth0",
      ttl: 2,
    });
  });

  const bad = async (content: string, want: RegExp) => {
    const p = join(dir, "c.json");
    await writeFile(p, content);
    const err = await loadConfig(p).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(p);
    expect(err.message).toMatch(want);
    expect(err.message).not.toContain("\n");
  };
  test("legacy must be true or false", () =>
    bad('{"legacy": "yes"}', /"legacy" must be a boolean/));
  test("invalid JSON → UserError naming the file", () => bad("{port: 1", /invalid config file/));
  test("not an object → UserError", () => bad("[1]", /expected a JSON object/));
  test("wrong type → UserError naming the key", async () => {
    await bad('{"port":"5000"}', /"port" must be a number/);
    await bad('{"nick":7}', /"nick" must be a string/);
  });

  test.skipIf(isRoot)("unreadable file → UserError", async () => {
    const p = join(dir, "c.json");
    await writeFile(p, "{}");
    await chmod(p, 0o000);
    const err = await loadConfig(p).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^cannot read config file .*c\.json: /);
  });

  test("a directory → UserError", async () => {
    const err = await loadConfig(dir).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
  });
});

describe("saveConfig", () => {
  test("creates the dir 0700, the file 0600, and round-trips", async () => {
    const p = join(dir, "a", "mcchat", "config.json");
    const cfg = { group: "239.1.2.3", port: 5000, nick: "bob", ttl: 0, legacy: false };
    await saveConfig(p, cfg);
    expect(await loadConfig(p)).toEqual(cfg);
    expect(await mode(join(dir, "a", "mcchat"))).toBe(0o700);
    expect(await mode(p)).toBe(0o600);
    expect(await readFile(p, "utf8")).toEndWith("}\n");
  });

  test("replaces an existing file, fixes its mode, leaves no temp file", async () => {
    const p = join(dir, "config.json");
    await writeFile(p, '{"port":1}', { mode: 0o644 });
    await chmod(p, 0o644);
    await saveConfig(p, { port: 2, encoding: undefined });
    expect(await mode(p)).toBe(0o600);
    expect(await loadConfig(p)).toEqual({ port: 2 });
    expect(await readdir(dir)).toEqual(["config.json"]);
  });

  test("drops unknown keys, rejects wrong types", async () => {
    const p = join(dir, "config.json");
    await saveConfig(p, { nick: "a", extra: 1 } as never);
    expect(JSON.parse(await readFile(p, "utf8"))).toEqual({ nick: "a" });
    await expect(saveConfig(p, { port: "1" } as never)).rejects.toBeInstanceOf(UserError);
  });

  test("parent is a file → UserError", async () => {
    const f = join(dir, "file");
    await writeFile(f, "");
    const err = await saveConfig(join(f, "mcchat", "config.json"), { port: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^cannot save config file .*: /);
    expect(err.message).not.toContain("\n");
  });

  test.skipIf(isRoot)("unwritable dir → UserError, no temp left", async () => {
    const ro = join(dir, "ro");
    await mkdir(ro, { mode: 0o500 });
    const err = await saveConfig(join(ro, "config.json"), { port: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^cannot save config file /);
    expect(await readdir(ro)).toEqual([]);
  });
});
