const HEX_ID = /^[0-9a-f]{16}$/;

/** True for a well-formed instance id: exactly 16 lowercase hex digits. */
export function isInstanceId(id: unknown): id is string {
  return typeof id === "string" && HEX_ID.test(id);
}

/** A fresh random 64-bit instance id (one per process run), as 16 lowercase hex digits. */
export function randomInstanceId(): string {
  return idFromBytes(crypto.getRandomValues(new Uint8Array(8)));
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * The last id converted each way: frames come in bursts from one sender (and go out with our
 * own id), so most conversions are the same one again.
 */
const lastFrom = { bytes: new Uint8Array(8), id: "" };
const lastTo = { id: "", bytes: new Uint8Array(8) };

/** 8 bytes -> 16 lowercase hex digits. */
export function idFromBytes(bytes: Uint8Array): string {
  const l = lastFrom.bytes;
  if (
    lastFrom.id !== "" &&
    bytes.length === 8 &&
    bytes[0] === l[0] &&
    bytes[1] === l[1] &&
    bytes[2] === l[2] &&
    bytes[3] === l[3] &&
    bytes[4] === l[4] &&
    bytes[5] === l[5] &&
    bytes[6] === l[6] &&
    bytes[7] === l[7]
  ) {
    return lastFrom.id;
  }
  let s = "";
  // Indexed, not for-of: the iterator protocol cost more than the conversion (a REPORT
  // decodes one id per entry).
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] as number];
  if (bytes.length === 8) {
    lastFrom.bytes.set(bytes);
    lastFrom.id = s;
  }
  return s;
}

/** 16 lowercase hex digits -> 8 bytes (a fresh array). Throws RangeError on anything else. */
export function idToBytes(id: string): Uint8Array {
  if (id !== lastTo.id) {
    if (!isInstanceId(id)) throw new RangeError(`invalid instance id ${JSON.stringify(id)}`);
    const out = new Uint8Array(8);
    for (let i = 0; i < 8; i++) out[i] = Number.parseInt(id.slice(i * 2, i * 2 + 2), 16);
    lastTo.id = id;
    lastTo.bytes = out;
  }
  return lastTo.bytes.slice();
}
