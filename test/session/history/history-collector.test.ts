import { describe, expect, test } from "bun:test";
import { encodeTextRecord } from "../../../src/protocol/text-record.ts";
import type { RecordFrame } from "../../../src/protocol/types.ts";
import { type Answerer, HistoryCollector } from "../../../src/session/history/history-collector.ts";
import { historyTextRecord } from "../../helpers/frames.ts";

const ALICE = "00000000000000a1";
const BOB = "00000000000000b2";
const MALLORY = "00000000000000ee";
const members: Record<string, Answerer> = {
  "10.0.0.1:5000": { id: ALICE, nick: "alice", from: "10.0.0.1:5000" },
  "10.0.0.2:5000": { id: BOB, nick: "bob", from: "10.0.0.2:5000" },
  "10.0.0.66:5000": { id: MALLORY, nick: "mallory", from: "10.0.0.66:5000" },
};
const memberAt = (from: string) => members[from];

/** A one-fragment TEXT record answer frame. */
const line = (id: string, seq: number, text: string, nick = "alice"): RecordFrame =>
  historyTextRecord(id, seq, nick, text, 1);

const shown = (c: HistoryCollector) =>
  c.result(memberAt).map((r) => `${r.record.value.text}${r.via ? ` via ${r.via.nick}` : ""}`);

describe("HistoryCollector: first-hand and relayed lines", () => {
  test("a line is first-hand only from its own sender's address; else relayed by whoever sent it", () => {
    const c = new HistoryCollector(10, 0);
    c.add(line(ALICE, 1, "a1"), "10.0.0.2:5000");
    c.add(line(BOB, 1, "b1", "bob"), "10.0.0.2:5000");
    expect(shown(c)).toEqual(["a1 via bob", "b1"]);
  });

  test("the sender's own version replaces a relay's, in the relay's place", () => {
    const c = new HistoryCollector(10, 0);
    c.add(line(ALICE, 1, "a1"), "10.0.0.2:5000");
    c.add(line(BOB, 1, "b1", "bob"), "10.0.0.2:5000");
    c.add(line(ALICE, 1, "a1"), "10.0.0.1:5000");
    expect(shown(c)).toEqual(["a1", "b1"]);
  });

  test("once a sender answered for itself, relayed lines in its name it did not send are left out", () => {
    const c = new HistoryCollector(10, 0);
    c.add(line(ALICE, 1000, "DM me your passphrase"), "10.0.0.66:5000");
    c.add(line(ALICE, 7, "the passphrase is unchanged", "alice"), "10.0.0.66:5000");
    c.add(line(ALICE, 1, "a1"), "10.0.0.1:5000");
    expect(shown(c)).toEqual(["a1"]);
  });

  test("a forged version of a real line loses to the sender's, whichever came first", () => {
    const c = new HistoryCollector(10, 0);
    c.add(line(ALICE, 1, "a1"), "10.0.0.1:5000");
    c.add(line(ALICE, 1, "forged"), "10.0.0.66:5000");
    expect(shown(c)).toEqual(["a1"]);
  });

  test("fragments are joined only with those of the same answer", () => {
    const c = new HistoryCollector(10, 0);
    const body = encodeTextRecord({
      action: false,
      nick: "alice",
      time: 1,
      text: "x".repeat(2000),
    });
    const frag = (i: number, payload: Uint8Array): RecordFrame => ({
      ...line(ALICE, 5 + i, ""),
      fragIndex: i,
      fragCount: 2,
      payload,
    });
    c.add(frag(0, body.subarray(0, 1200)), "10.0.0.66:5000");
    c.add(frag(1, body.subarray(1200)), "10.0.0.2:5000");
    expect(shown(c)).toEqual([]);
  });
});
