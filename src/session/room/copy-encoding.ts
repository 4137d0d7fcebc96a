import { type HeardEncoding, heardEncoding } from "../../protocol/text-codec.ts";

/**
 * The encoding our text goes to the room's classic programs in. Pure.
 *
 * - An explicit encoding (`-e gbk`, `-e utf8` …) is used as given, always.
 * - "auto" (the default) follows what the room's legacy programs are heard using: GBK once any
 *   of them sends text that is not UTF-8 but is GBK/GB18030 (and GBK from then on, never UTF-8
 *   again); UTF-8 while only UTF-8 text (beyond ASCII) has been heard; GBK before anything
 *   telling was heard, as the classic program mcchat descends from is a GBK program.
 */
export class CopyEncoding {
  private heard: "utf8" | "gbk" | undefined;

  constructor(private readonly configured: string) {}

  /** The encoding to send in now (an iconv-lite / text-codec name). */
  get current(): string {
    if (this.configured !== "auto") return this.configured;
    return this.heard ?? "gbk";
  }

  /**
   * A legacy datagram was heard. True exactly once: when, under "auto", the room's classic
   * programs are first heard using GBK (the moment to say so).
   */
  heardFrom(bytes: Uint8Array): boolean {
    if (this.configured !== "auto" || this.heard === "gbk") return false;
    const kind: HeardEncoding = heardEncoding(bytes);
    if (kind === "gbk") {
      this.heard = "gbk";
      return true;
    }
    if (kind === "utf8") this.heard = "utf8";
    return false;
  }
}

/** The one line a member says when it starts copying to GBK programs in GBK. */
export const GBK_COPIES_NOTICE =
  "classic programs here use GBK; copying your messages to them in GBK (--legacy / -e to change)";
/** The same for `--raw`, where every message goes out as legacy text. */
export const GBK_RAW_NOTICE =
  "classic programs here use GBK; sending your messages in GBK (-e to change)";
