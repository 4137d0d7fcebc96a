/**
 * A tiny terminal emulator for tests: enough of VT100/xterm to replay what readline
 * and the chat room write (printable text with auto-wrap and the pending-wrap state,
 * CR, LF, CSI A/B/C/D/E/F/G/H/J/K, SGR ignored) and show the resulting screen.
 * The screen has a fixed width and grows downwards without limit (no scrolling),
 * which is all that relative cursor movement needs.
 */
export class VirtualTerminal {
  private rows: string[][] = [[]];
  row = 0;
  col = 0;
  private pendingWrap = false;
  private rest = "";

  constructor(readonly columns: number) {}

  private line(r: number): string[] {
    while (this.rows.length <= r) this.rows.push([]);
    return this.rows[r] as string[];
  }

  private put(ch: string, width: number): void {
    if (this.pendingWrap || this.col + width > this.columns) {
      this.row++;
      this.col = 0;
      this.pendingWrap = false;
    }
    const l = this.line(this.row);
    while (l.length < this.col) l.push(" ");
    l[this.col] = ch;
    if (width === 2) l[this.col + 1] = "";
    this.col += width;
    if (this.col >= this.columns) {
      this.col = this.columns - 1;
      this.pendingWrap = true;
    }
  }

  write(data: string): void {
    const s = this.rest + data;
    this.rest = "";
    let i = 0;
    while (i < s.length) {
      const ch = s[i] as string;
      if (ch === "\x1b") {
        const m = /^\[([?0-9;]*)([@-~])/.exec(s.slice(i + 1));
        if (m) {
          this.csi(m[1] ?? "", m[2] ?? "");
          i += 1 + m[0].length;
        } else if (/^(\[[?0-9;]*)?$/.test(s.slice(i + 1))) {
          this.rest = s.slice(i); // a sequence split across writes: wait for the rest
          return;
        } else {
          i++; // not a CSI sequence: drop the ESC
        }
        continue;
      }
      i++;
      if (ch === "\r") {
        this.col = 0;
        this.pendingWrap = false;
      } else if (ch === "\n") {
        this.row++;
        this.line(this.row);
        this.pendingWrap = false;
      } else if (ch === "\x07") {
        // bell
      } else {
        const cp = ch.codePointAt(0) ?? 0;
        const full = cp > 0xffff ? String.fromCodePoint(cp) : ch;
        if (full.length === 2) i++;
        this.put(full, Bun.stringWidth(full) === 2 ? 2 : 1);
      }
    }
  }

  private csi(params: string, final: string): void {
    if (params.startsWith("?")) return;
    const nums = params.split(";").map((p) => (p === "" ? undefined : Number(p)));
    const n = nums[0] ?? 1;
    this.pendingWrap = false;
    switch (final) {
      case "A":
        this.row = Math.max(0, this.row - n);
        break;
      case "B":
        this.row += n;
        this.line(this.row);
        break;
      case "C":
        this.col = Math.min(this.columns - 1, this.col + n);
        break;
      case "D":
        this.col = Math.max(0, this.col - n);
        break;
      case "E":
        this.row += n;
        this.col = 0;
        break;
      case "F":
        this.row = Math.max(0, this.row - n);
        this.col = 0;
        break;
      case "G":
        this.col = Math.min(this.columns - 1, n - 1);
        break;
      case "H":
        this.row = (nums[0] ?? 1) - 1;
        this.col = (nums[1] ?? 1) - 1;
        break;
      case "J": {
        const mode = nums[0] ?? 0;
        if (mode === 0) {
          this.line(this.row).length = Math.min(this.line(this.row).length, this.col);
          this.rows.length = this.row + 1;
        }
        break;
      }
      case "K": {
        const mode = nums[0] ?? 0;
        const l = this.line(this.row);
        if (mode === 0) l.length = Math.min(l.length, this.col);
        else if (mode === 2) l.length = 0;
        else for (let k = 0; k <= this.col && k < l.length; k++) l[k] = " ";
        break;
      }
      default:
        // SGR (m) and anything else: no effect on the text.
        break;
    }
  }

  /** The screen's lines, trailing spaces and trailing empty lines removed. */
  lines(): string[] {
    const out = this.rows.map((r) => r.join("").replace(/\s+$/, ""));
    while (out.length > 0 && out[out.length - 1] === "") out.pop();
    return out;
  }
}
