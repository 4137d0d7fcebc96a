import { describe, expect, test } from "bun:test";
import { HistoryResponder } from "../../src/session/history-responder.ts";

describe("HistoryResponder", () => {
  test("answers once per request id, after a shorter wait when it holds enough", () => {
    const h = new HistoryResponder();
    h.request(5, 1, 10, 0, 0.5);
    const full = h.deadline as number;
    expect(h.due(full - 0.001)).toBeUndefined();
    expect(h.due(full)).toBe(5);
    expect(h.deadline).toBeUndefined();
    h.request(5, 1, 10, 100, 0.5); // the same request again: already answered
    expect(h.deadline).toBeUndefined();
    h.request(50, 2, 10, 100, 0.5); // holds fewer than asked: waits longer
    expect((h.deadline as number) - 100).toBeGreaterThan(full);
  });

  test("stays quiet once it hears an answer; a member with an empty log never answers", () => {
    const h = new HistoryResponder();
    h.request(5, 1, 10, 0, 0.9);
    h.heardAnswer();
    expect(h.deadline).toBeUndefined();
    expect(h.due(1e9)).toBeUndefined();
    h.request(5, 2, 0, 0, 0);
    expect(h.deadline).toBeUndefined();
  });
});
