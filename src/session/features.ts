/**
 * The features a session is made of, in order (start: presence says HELLO first; close: BYE).
 * A new feature — a record kind, a frame type, a timer — is one new file plus one line here.
 */
import { compat } from "./compat/v1-view.ts";
import type { FeatureFactory } from "./feature.ts";
import { history } from "./history/history.ts";
import { inbound } from "./receiving/receive.ts";
import { reports } from "./receiving/reports.ts";
import { text } from "./records/text.ts";
import { legacy } from "./room/legacy.ts";
import { presence } from "./room/presence.ts";
import { flow } from "./sending/flow.ts";
import { repair } from "./sending/repair.ts";

export const DEFAULT_FEATURES: readonly FeatureFactory[] = [
  presence,
  inbound,
  reports,
  repair,
  flow,
  text,
  history,
  legacy,
  compat,
];
