import { encodingLength, fragmentText, type MessageFrame } from "../protocol/index.ts";

/**
 * The MESSAGE frames of one message (seqs still 0: they are given when the flow-control window
 * lets the message go) and their encoded sizes.
 */
export function messageFrames(m: {
  id: string;
  nick: string;
  text: string;
  action: boolean;
  time: number;
}): { frames: MessageFrame[]; sizes: number[]; bytes: number } {
  const parts = fragmentText(m.text);
  const frames: MessageFrame[] = parts.map((payload, i) => ({
    type: "message",
    id: m.id,
    seq: 0,
    nick: m.nick,
    time: Math.floor(m.time),
    fragIndex: i,
    fragCount: parts.length,
    action: m.action,
    repair: false,
    history: false,
    payload,
  }));
  const sizes = frames.map((f) => encodingLength(f));
  return { frames, sizes, bytes: sizes.reduce((a, b) => a + b, 0) };
}
