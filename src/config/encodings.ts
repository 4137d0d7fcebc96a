/** The encodings the setup wizard offers (pure data). Values are text-codec names. */

export interface EncodingChoice {
  value: string;
  label: string;
  hint: string;
}

export const WIZARD_ENCODINGS: readonly EncodingChoice[] = [
  { value: "utf8", label: "UTF-8", hint: "Linux, macOS, modern programs" },
  { value: "gbk", label: "GBK", hint: "Simplified Chinese Windows programs" },
  { value: "gb18030", label: "GB18030", hint: "superset of GBK" },
  { value: "big5", label: "Big5", hint: "Traditional Chinese" },
  { value: "shift_jis", label: "Shift_JIS", hint: "Japanese" },
  { value: "euc-kr", label: "EUC-KR", hint: "Korean" },
  {
    value: "auto",
    label: "auto",
    hint: "the default: receive UTF-8 or GBK; copies in GBK, or UTF-8 if only that is heard",
  },
];

const key = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, "");

/** The listed choice for an encoding name ("UTF-8", "Shift-JIS", "euckr" …), if any. */
export function findEncodingChoice(name: string): EncodingChoice | undefined {
  const k = key(name);
  return WIZARD_ENCODINGS.find((c) => key(c.value) === k || key(c.label) === k);
}
