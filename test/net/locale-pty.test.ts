/**
 * Issue 16: under a locale that is not UTF-8 (LANG=C), mcchat on a terminal draws its frames in
 * plain ASCII — the setup wizard (clack, which looks at TERM only) included — and says once
 * that messages are still written as UTF-8. Run in tmux panes inside a lab host; the tmux
 * server itself keeps a UTF-8 locale, so any UTF-8 frame drawn would show on the screen.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertPrivateNetns,
  describeLab,
  implementations,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { panesPerTest } from "../helpers/tmux.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const terminal = panesPerTest({ width: 100, height: 30, stderrOnScreen: true });
/** Box drawing and the symbols clack draws with when it believes in Unicode. */
const UNICODE_FRAMES = /[\u2500-\u257f\u25a0-\u25ff]/u;
const C_LOCALE = { LANG: "C", LC_ALL: "C", LC_CTYPE: "C" };

describeLab("a terminal under LANG=C", () => {
  const lab = sharedLab(1);

  implementations().forEach((impl, n) => {
    test.skipIf(!impl.available)(
      `${impl.label}: the setup wizard draws ASCII frames`,
      async () => {
        const [h0] = await lab();
        const home = mkdtempSync(join(tmpdir(), "mcchat-cfg-"));
        try {
          const t = await terminal(h0, impl.argv, { ...C_LOCALE, XDG_CONFIG_HOME: home });
          const screen = await t.waitFor(/mcchat setup[\s\S]*Multicast group address/);
          expect(screen).toMatch(/\* {2}Multicast group address/);
          expect(screen).toMatch(/^\|/m);
          expect(screen).not.toMatch(UNICODE_FRAMES);
          await t.keys("C-c");
          await t.waitFor(/EXIT=\d+/);
        } finally {
          rmSync(home, { recursive: true, force: true });
        }
      },
      30_000,
    );

    test.skipIf(!impl.available)(
      `${impl.label}: the chat room says once that the locale is not UTF-8`,
      async () => {
        const [h0] = await lab();
        const port = String(25_860 + 2 * n);
        const argv = [...impl.argv, "-y", "-g", "239.1.100.91", "-p", port, "-n", "cee"];
        const t = await terminal(h0, argv, C_LOCALE);
        const screen = await t.waitFor(/^cee>/m);
        const warning = /warning: the locale \(C\) is not UTF-8: frames are drawn in ASCII/g;
        expect(screen.match(warning)?.length).toBe(1);
        await t.type("/quit");
        await t.keys("Enter");
        await t.waitFor(/EXIT=0/);
      },
      30_000,
    );
  });
});
