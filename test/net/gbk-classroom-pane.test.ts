/**
 * Issue 16, "Encodings that just work", in a real terminal: dist/mcchat left on the default
 * encoding, in a tmux pane (80x24, UTF-8 locale), next to the legacy GBK program
 * (test/helpers/legacy_peer.py) on another namespaced host.
 *
 *   h0 198.18.0.1  legacy_peer.py: recv on the room port P, and send GBK text to P
 *   h1 198.18.0.2  dist/mcchat -y -g G -p P -n ann (no -e), in the pane
 *
 * The pane shows the GBK greeting as written (no U+FFFD), says once that the classic
 * programs use GBK, and a line typed in the pane reaches the legacy program as GBK bytes,
 * never UTF-8. test/net/legacy-encoding.test.ts is the same scenario with --json.
 */
import { afterEach, expect, test } from "bun:test";
import { waitFor } from "../helpers/events.ts";
import {
  assertPrivateNetns,
  BINARY_LABEL,
  describeLab,
  implementations,
  legacyPeerCommand,
  sharedLab,
  stopAll,
} from "../helpers/netns.ts";
import { type Datagram, fromHost, gbkHex, legacyReceiver } from "../helpers/room.ts";
import { type Pane, panesPerTest } from "../helpers/tmux.ts";

assertPrivateNetns();
afterEach(() => stopAll());

const GROUP = "239.1.132.16";
const PORT = 26_516;
const LEGACY = legacyPeerCommand();
const HELLO = "大家好，我是旧程序";
const NOTICE = "classic programs here use GBK";
const LINE = "我是ann";
const utf8Hex = (s: string) => Buffer.from(s).toString("hex");

const terminal = panesPerTest({ width: 80, height: 24, stderrOnScreen: true });
const binary = implementations().find((i) => i.label === BINARY_LABEL);
const skipReason = binary?.available ? "" : " [skipped: dist/mcchat not built]";

/** Everything the pane has shown, scrollback included, wrapped rows joined. */
const history = async (pane: Pane): Promise<string> =>
  pane.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "main");

describeLab(`a default member in a terminal next to a legacy GBK program${skipReason}`, () => {
  const lab = sharedLab(2);

  test.skipIf(!binary?.available)(
    "shows the GBK greeting as written, says so once, and its typed line reaches the legacy program as GBK",
    async () => {
      const [h0, h1] = await lab();
      const ears = await legacyReceiver(h0, GROUP, PORT, ["--count", "0", "--timeout", "40"]);
      const argv = [...(binary?.argv ?? []), "-y", "-g", GROUP, "-p", String(PORT), "-n", "ann"];
      const pane = await terminal(h1, argv, { LANG: "C.UTF-8" });
      await pane.waitFor(/^ann>/m);

      // Readiness: the legacy program repeats its greeting until the pane shows it.
      const shown = new RegExp(HELLO);
      let heard = false;
      for (let n = 0; n < 20 && !heard; n++) {
        await h0.exec([...LEGACY, "send", GROUP, String(PORT), "--encoding", "gbk", HELLO]);
        heard = await pane.waitFor(shown, 500).then(
          () => true,
          () => false,
        );
      }
      if (!heard) await pane.waitFor(shown, 1); // fails with the screen in the message
      // A second GBK line: still one notice.
      await h0.exec([...LEGACY, "send", GROUP, String(PORT), "--encoding", "gbk", "再见"]);
      await pane.waitFor(/再见/);

      await pane.type(LINE);
      await pane.keys("Enter");
      const fromAnn = () => ears.json<Datagram>().filter((d) => fromHost(h1).test(d.from));
      await waitFor(
        () => fromAnn().some((d) => d.hex === gbkHex(LINE)),
        8000,
        "the legacy program receives the typed line as GBK",
        [ears],
      );

      const all = await history(pane);
      const rows = all.split("\n");
      // The greeting exactly as written, on a row of its own message, nothing replaced.
      expect(rows.some((r) => r.endsWith(HELLO))).toBe(true);
      expect(all).not.toContain("\uFFFD");
      expect(rows.filter((r) => r.includes(NOTICE)).length).toBe(1);
      const got = fromAnn().map((d) => d.hex);
      expect(got.filter((h) => h === gbkHex(LINE)).length).toBe(1);
      expect(got).not.toContain(utf8Hex(LINE));

      await pane.type("/quit");
      await pane.keys("Enter");
      await pane.waitFor(/EXIT=0/);
    },
    40_000,
  );
});
