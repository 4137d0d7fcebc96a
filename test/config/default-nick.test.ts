import { describe, expect, test } from "bun:test";
import {
  cleanNick,
  defaultNick,
  type NickSources,
  passwdName,
  systemNickSources,
} from "../../src/config/default-nick.ts";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
  "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash",
  "",
].join("\n");

function sources(over: Partial<NickSources> = {}): NickSources {
  return {
    env: {},
    uid: 1000,
    userName: () => "unknown", // what Bun's os.userInfo() says without $USER
    readPasswd: () => PASSWD,
    hostname: () => "box.example.org",
    ...over,
  };
}

describe("defaultNick", () => {
  test("the login name from the environment comes first", () => {
    expect(defaultNick(sources({ env: { USER: "bob", LOGNAME: "carol" } }))).toBe("bob");
    expect(defaultNick(sources({ env: { LOGNAME: "carol" } }))).toBe("carol");
    expect(defaultNick(sources({ env: { USERNAME: "dave" } }))).toBe("dave");
  });

  test("root in tmux (no $USER, Bun's userInfo says unknown): the passwd entry for uid 0", () => {
    expect(defaultNick(sources({ uid: 0 }))).toBe("root");
  });

  test("os.userInfo() is used when it knows the name (Node, Windows)", () => {
    expect(defaultNick(sources({ userName: () => "erin" }))).toBe("erin");
    expect(defaultNick(sources({ userName: () => undefined, uid: 1000 }))).toBe("alice");
  });

  test("a uid missing from passwd, or passwd unreadable: the host name's first label", () => {
    expect(defaultNick(sources({ uid: 4242 }))).toBe("box");
    const unreadable = () => {
      throw new Error("EACCES");
    };
    expect(defaultNick(sources({ readPasswd: unreadable }))).toBe("box");
    expect(defaultNick(sources({ uid: undefined }))).toBe("box");
  });

  test("nothing usable at all: guest", () => {
    expect(defaultNick(sources({ uid: undefined, hostname: () => "" }))).toBe("guest");
    expect(defaultNick(sources({ env: { USER: "  " }, uid: 9, hostname: () => "!!" }))).toBe(
      "guest",
    );
  });

  test("names are cleaned; one that cleans to nothing falls through", () => {
    expect(defaultNick(sources({ env: { USER: "DOMAIN\\zoë smith" } }))).toBe("DOMAINzoësmith");
    expect(defaultNick(sources({ env: { USER: "@@@" }, uid: 0 }))).toBe("root");
    expect(cleanNick("x".repeat(40))).toHaveLength(32);
  });

  test("passwdName matches the uid field exactly", () => {
    expect(passwdName(PASSWD, 1)).toBe("daemon");
    expect(passwdName(PASSWD, 10)).toBeUndefined();
    expect(passwdName("garbage\n::0\n", 0)).toBeUndefined();
  });

  const real = systemNickSources();
  const listed = real.uid === undefined ? undefined : passwdName(safe(real.readPasswd), real.uid);
  test.skipIf(listed === undefined)(
    "on this machine, without $USER/$LOGNAME, the name is this uid's passwd entry",
    () => {
      expect(defaultNick({ ...real, env: {} })).toBe(cleanNick(listed));
    },
  );
});

function safe(read: () => string): string {
  try {
    return read();
  } catch {
    return "";
  }
}
