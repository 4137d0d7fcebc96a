import { describe, expect, test } from "bun:test";
import {
  HISTORY_ANSWER_GAP_MS,
  HISTORY_SLOT_MS,
  HistoryResponder,
  historyTurn,
} from "../../../src/session/history/history-responder.ts";

const ids = ["00000000000000a1", "00000000000000b2", "00000000000000c3", "00000000000000d4"];

describe("historyTurn", () => {
  test("every member computes the same order: turns are 0..n-1, each once", () => {
    for (let req = 0; req < 50; req++) {
      const turns = ids.map((id) => historyTurn(id, ids, req)).sort();
      expect(turns).toEqual([0, 1, 2, 3]);
    }
  });

  test("a different member goes first for different requests", () => {
    const first = new Set<string>();
    for (let req = 0; req < 50; req++) {
      first.add(ids.find((id) => historyTurn(id, ids, req) === 0) as string);
    }
    expect(first.size).toBeGreaterThan(1);
  });
});

describe("HistoryResponder", () => {
  test("answers once per request id, in its turn; after all others when it holds too few", () => {
    const self = ids[1] as string;
    const h = new HistoryResponder(self);
    const turn = historyTurn(self, ids, 1);
    h.request(5, 1, 10, ids, 0);
    expect(h.deadline).toBe(turn * HISTORY_SLOT_MS);
    expect(h.due(turn * HISTORY_SLOT_MS - 0.001)).toBeUndefined();
    expect(h.due(turn * HISTORY_SLOT_MS)).toEqual({ count: 5, ownOnly: false });
    expect(h.deadline).toBeUndefined();
    h.request(5, 1, 10, ids, 100); // the same request again: already answered
    expect(h.deadline).toBeUndefined();
    h.request(50, 2, 10, ids, 9000); // holds fewer than asked: after every member's turn
    expect(h.deadline).toBe(9000 + (ids.length + historyTurn(self, ids, 2)) * HISTORY_SLOT_MS);
  });

  test("a flood of requests costs one answer per HISTORY_ANSWER_GAP_MS, one per requester per HISTORY_REQUESTER_GAP_MS", () => {
    const h = new HistoryResponder(ids[0] as string);
    const answers: number[] = [];
    for (let t = 0; t < 60_000; t += 10) {
      // a new request id every 10 ms, from 4 requesters in turn
      h.request(65535, t, 200, ids, t, `requester${t % 4}`);
      const d = h.deadline;
      if (d !== undefined && h.due(d) !== undefined) answers.push(t);
    }
    // 6,000 requests in 60 s from 4 requesters: each answered at most twice (every 30 s), and
    // never two answers within HISTORY_ANSWER_GAP_MS.
    expect(answers.length).toBeLessThanOrEqual(8);
    expect(answers.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < answers.length; i++) {
      expect((answers[i] as number) - (answers[i - 1] as number)).toBeGreaterThanOrEqual(
        HISTORY_ANSWER_GAP_MS,
      );
    }
    expect(h.refused).toBe(6000 - answers.length);
  });

  test("stays quiet once it hears an answer it agrees with; a member with an empty log never answers", () => {
    const h = new HistoryResponder(ids[0] as string);
    h.request(5, 1, 10, ids, 0);
    h.heardAnswer("agrees");
    expect(h.due(1e9)).toBeUndefined();
    expect(h.deadline).toBeUndefined();
    h.request(5, 2, 0, ids, 0);
    expect(h.deadline).toBeUndefined();
  });
});

describe("HistoryResponder: which answers keep it quiet", () => {
  const self = ids[0] as string;
  const at = (h: HistoryResponder) => h.deadline as number;

  test("an answer it disputes does not keep it quiet, even after ones it agrees with", () => {
    const h = new HistoryResponder(self);
    h.request(5, 1, 10, ids, 0);
    h.heardAnswer("agrees");
    h.heardAnswer("disputes");
    expect(h.due(at(h))).toEqual({ count: 5, ownOnly: false });
  });

  test("answers it cannot judge do not keep it quiet", () => {
    const h = new HistoryResponder(self);
    h.request(5, 1, 10, ids, 0);
    h.heardAnswer("unknown");
    expect(h.due(at(h))).toEqual({ count: 5, ownOnly: false });
  });

  test("a faithful relay of its own lines: it answers with its own lines only", () => {
    const h = new HistoryResponder(self);
    h.request(5, 1, 10, ids, 0);
    h.heardAnswer("agrees", true);
    expect(h.due(at(h))).toEqual({ count: 5, ownOnly: true });
  });
});

describe("HistoryResponder: answering for itself costs the room no answer", () => {
  test("after an own-lines answer, the next joiner's request (within the gap) still gets an answer for the room", () => {
    const h = new HistoryResponder(ids[0] as string);
    h.request(5, 1, 10, ids, 0, "late1");
    h.heardAnswer("agrees", true);
    expect(h.due(h.deadline as number)).toEqual({ count: 5, ownOnly: true });
    h.request(5, 2, 10, ids, 4000, "late2");
    expect(h.due(h.deadline as number)).toEqual({ count: 5, ownOnly: false });
  });
});
