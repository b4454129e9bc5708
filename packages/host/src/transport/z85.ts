/** Z85 (ZeroMQ RFC 32), the text form of CURVE keys: 5 characters for every 4 bytes. */
const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const VALUES = new Map([...ALPHABET].map((char, index) => [char, index]));

/** The bytes of a Z85 string, or undefined when it is not one (a length not a multiple of 5, a foreign character). */
export function z85Decode(text: string): Buffer | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = VALUES.get(text[i + j]);
      if (digit === undefined) return undefined;
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return undefined;
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}
