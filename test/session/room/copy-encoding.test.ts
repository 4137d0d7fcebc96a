import { describe, expect, test } from "bun:test";
import iconv from "iconv-lite";
import { CopyEncoding } from "../../../src/session/room/copy-encoding.ts";

const gbk = (s: string) => new Uint8Array(iconv.encode(s, "gbk"));
const utf8 = (s: string) => new TextEncoder().encode(s);

describe("CopyEncoding: the encoding our copies to classic programs go out in", () => {
  test("auto, nothing heard yet: GBK (the classic program is a GBK program)", () => {
    expect(new CopyEncoding("auto").current).toBe("gbk");
  });

  test("auto: GBK heard → GBK, said exactly once, and never UTF-8 again", () => {
    const c = new CopyEncoding("auto");
    expect(c.heardFrom(utf8("hello"))).toBe(false); // ASCII says nothing
    expect(c.heardFrom(gbk("大家好，我是旧程序"))).toBe(true);
    expect(c.current).toBe("gbk");
    expect(c.heardFrom(gbk("再见"))).toBe(false);
    expect(c.heardFrom(utf8("你好 UTF-8"))).toBe(false);
    expect(c.current).toBe("gbk");
  });

  test("auto: only UTF-8 heard (beyond ASCII) → UTF-8, nothing said; GBK later still wins", () => {
    const c = new CopyEncoding("auto");
    expect(c.heardFrom(utf8("你好"))).toBe(false);
    expect(c.current).toBe("utf8");
    expect(c.heardFrom(gbk("大家好"))).toBe(true);
    expect(c.current).toBe("gbk");
  });

  test("an explicit encoding wins: no switching, nothing said", () => {
    for (const e of ["utf8", "gbk", "big5"]) {
      const c = new CopyEncoding(e);
      expect(c.heardFrom(gbk("大家好，我是旧程序"))).toBe(false);
      expect(c.heardFrom(utf8("你好"))).toBe(false);
      expect(c.current).toBe(e);
    }
  });

  test("bytes that are neither UTF-8 nor GB18030 change nothing", () => {
    const c = new CopyEncoding("auto");
    expect(c.heardFrom(new Uint8Array([0x81, 0x20, 0xff]))).toBe(false);
    expect(c.current).toBe("gbk");
  });
});
