/**
 * A transport that makes a current Session speak as a member of mcchat 0.3/0.4 (wire 1.1,
 * PROTOCOL.md §12) would: its PRESENCE frames go out without what revision 1.2 added (§13:
 * FEEDBACK, INTERVAL, ALL-REPORT), so members report to it by §8's rules, as to an older member.
 */
import type { Transport } from "../../src/net/transport.ts";
import { decode, encode } from "../../src/protocol/index.ts";

export function asOlderMember(t: Transport): Transport {
  return {
    onDatagram: (h) => t.onDatagram(h),
    close: () => t.close(),
    send(data, channel) {
      if ((channel ?? "framed") === "framed" && data[3] === 0x05) {
        const f = decode(data);
        if (f.type === "presence") {
          const { feedback: _f, intervalMs: _i, allReport: _a, ...older } = f;
          return t.send(encode(older), channel);
        }
      }
      return t.send(data, channel);
    },
  };
}
