/**
 * The room's classic programs (PROTOCOL.md §1.2): plain text on the room port shown as messages
 * (held briefly, so a framed member's own bridged copy is not shown twice), and while legacy
 * mode is on our text also goes to them as plain text, in the room's encoding.
 */
import { RecordKind as Kind } from "../../protocol/constants.ts";
import type { TextRecord } from "../../protocol/text-record.ts";
import type { FeatureFactory } from "../feature.ts";
import { CopyEncoding, GBK_COPIES_NOTICE } from "./copy-encoding.ts";
import { type HeldLegacy, LegacyBridge } from "./legacy-bridge.ts";
import { legacyLine, legacyMessage, sendLegacyText } from "./legacy-text.ts";

export const legacy: FeatureFactory = (ctx) => {
  const encrypted = ctx.transport.security?.encrypted === true;
  // An encrypted room never sends plaintext: no bridge to legacy programs.
  const bridge = new LegacyBridge(ctx.opts.legacy === true, encrypted);
  /** The encoding our copies go out in: `-e`, or under "auto" what the legacy programs use. */
  const copies = new CopyEncoding(ctx.opts.encoding);
  /** Bridged copies go out one message after the other (a long one is several datagrams). */
  let queue: Promise<void> = Promise.resolve();

  /** Legacy text as a message; in an encrypted room (`--allow-plaintext`) marked unauthenticated. */
  const show = (h: HeldLegacy, unauthenticated = encrypted) => {
    ctx.counters.received++;
    const e = legacyMessage(h, h.from, ctx.opts.encoding, ctx.time());
    ctx.emit(unauthenticated && e.type === "message" ? { ...e, unauthenticated } : e);
    // Said once, after the line that showed it, and only where copies go out at all.
    if (copies.heardFrom(h.data) && !encrypted) {
      ctx.emit({ type: "info", time: ctx.time(), text: GBK_COPIES_NOTICE });
    }
  };

  ctx.hooks.framedFrom.push((from) => bridge.framedFrom(from));
  ctx.hooks.sent.push((o) => {
    if (o.kind.code !== Kind.text || !bridge.active(ctx.now())) return;
    const v = o.value as TextRecord;
    const line = legacyLine(v.text, v.nick, v.action);
    ctx.counters.bridged++;
    queue = queue
      .then(() =>
        sendLegacyText(ctx.transport, line, copies.current, (t) => ctx.warn(t)).then((n) => {
          ctx.counters.datagramsSent += n;
        }),
      )
      .catch((e) => {
        if (!ctx.closed) ctx.warn(`send failed: ${(e as Error).message}`);
      });
  });

  return {
    name: "legacy",
    legacy(d, from) {
      for (const h of bridge.legacyFrom(from, d.data, ctx.now())) show(h, d.unauthenticated);
    },
    deadline: () => bridge.deadline,
    tick(now) {
      for (const h of bridge.due(now)) show(h);
    },
  };
};
