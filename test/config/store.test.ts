import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configExposure, configPath, loadConfig, saveConfig } from "../../src/config/store.ts";
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

describe("configExposure (issue 15: the saved passphrase's file is checked)", () => {
  /** dir/mcchat/config.json at `fileMode` in a dir at `dirMode` (dir itself is 0700). */
  const config = async (fileMode: number, dirMode = 0o700) => {
    const d = join(dir, "mcchat");
    await mkdir(d);
    await chmod(d, dirMode);
    const p = join(d, "config.json");
    await writeFile(p, '{"passphrase":"s3cret"}');
    await chmod(p, fileMode);
    return { d, p };
  };

  test("0600 in a 0700 directory: nothing to say; a missing file: nothing", async () => {
    const { p } = await config(0o600);
    expect(await configExposure(p)).toEqual({});
    expect(await configExposure(join(dir, "none", "config.json"))).toEqual({});
  });

  test("0644: others can read it (not replace it)", async () => {
    const { p } = await config(0o644);
    expect(await configExposure(p)).toEqual({ readable: "mode 0644" });
  });

  test("0664 or 0646: others can replace it", async () => {
    for (const m of [0o664, 0o646]) {
      const { p } = await config(m);
      expect((await configExposure(p)).replaceable).toEqual({
        why: `other users can write it (mode 0${m.toString(8)})`,
        fix: `chmod 600 ${p}`,
      });
      await rm(join(dir, "mcchat"), { recursive: true });
    }
  });

  test("a 0644 file in a 0777 directory: readable and replaceable (the issue's case)", async () => {
    const { d, p } = await config(0o644, 0o777);
    expect(await configExposure(p)).toEqual({
      readable: "mode 0644",
      replaceable: {
        why: `other users can write its directory ${d} (mode 0777)`,
        fix: `chmod go-w ${d}`,
      },
    });
  });

  test("a directory higher up that others can write counts; with the sticky bit it does not", async () => {
    await chmod(dir, 0o777);
    const { p } = await config(0o600);
    expect((await configExposure(p)).replaceable?.why).toBe(
      `other users can write its directory ${dir} (mode 0777)`,
    );
    await chmod(dir, 0o1777); // like /tmp: only an entry's owner may rename or remove it
    expect(await configExposure(p)).toEqual({});
    await chmod(dir, 0o700);
  });

  test("a file of another user (its owner said to be uid 4242): replaceable", async () => {
    const { p } = await config(0o600);
    const me = process.geteuid?.() ?? 0;
    const statAs = async (q: string) => {
      const st = await stat(q);
      return { mode: st.mode, uid: q === p ? 4242 : st.uid };
    };
    expect((await configExposure(p, { uid: me, stat: statAs })).replaceable?.why).toBe(
      "it belongs to another user (uid 4242)",
    );
  });

  test.skipIf(!isRoot)(
    "as root: a file or a directory chowned to nobody (65534) is replaceable",
    async () => {
      const { d, p } = await config(0o600);
      await chown(p, 65534, 65534);
      expect((await configExposure(p)).replaceable?.why).toBe(
        "it belongs to another user (uid 65534)",
      );
      await chown(p, 0, 0);
      await chown(d, 65534, 65534);
      expect((await configExposure(p)).replaceable?.why).toBe(
        `its directory ${d} belongs to another user (uid 65534)`,
      );
    },
  );

  test("saveConfig makes an existing loose directory of ours 0700 and the file 0600 under any umask", async () => {
    const d = join(dir, "mcchat");
    await mkdir(d);
    await chmod(d, 0o777);
    const p = join(d, "config.json");
    const old = process.umask(0);
    try {
      await saveConfig(p, { passphrase: "s3cret" });
    } finally {
      process.umask(old);
    }
    expect(await mode(d)).toBe(0o700);
    expect(await mode(p)).toBe(0o600);
    expect(await configExposure(p)).toEqual({});
  });
});
