const HEX_ID = /^[0-9a-f]{16}$/;

/** True for a well-formed instance id: exactly 16 lowercase hex digits. */
export function isInstanceId(id: unknown): id is string {
  return typeof id === "string" && HEX_ID.test(id);
}

/** A fresh random 64-bit instance id (one per process run), as 16 lowercase hex digits. */
export function randomInstanceId(): string {
  return idFromBytes(crypto.getRandomValues(new Uint8Array(8)));
}

/** 8 bytes -> 16 lowercase hex digits. */
export function idFromBytes(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** 16 lowercase hex digits -> 8 bytes. Throws RangeError on anything else. */
export function idToBytes(id: string): Uint8Array {
  if (!isInstanceId(id)) throw new RangeError(`invalid instance id ${JSON.stringify(id)}`);
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[i] = Number.parseInt(id.slice(i * 2, i * 2 + 2), 16);
  return out;
}
