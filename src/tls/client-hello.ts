// Reads the ALPN protocol list out of a TLS ClientHello, so a handshake offering "acme-tls/1" can
// be handed to the challenge responder before OpenSSL picks a certificate (RFC 8737 needs the
// challenge certificate for exactly those handshakes; Node offers no hook that late).

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_ALPN = 16;

/** ALPN names offered in the first bytes of a connection; undefined until they hold a whole ClientHello record. */
export function offeredAlpn(data: Buffer): string[] | undefined {
  if (data.length < 5 || data[0] !== HANDSHAKE) return undefined;
  const recordEnd = 5 + data.readUInt16BE(3);
  if (data.length < recordEnd) return undefined;
  let at = 5;
  if (data[at] !== CLIENT_HELLO) return undefined;
  at += 4 + 2 + 32; // handshake header, client version, random
  const skip = (lengthBytes: 1 | 2): boolean => {
    if (at + lengthBytes > recordEnd) return false;
    const len = lengthBytes === 1 ? data[at]! : data.readUInt16BE(at);
    at += lengthBytes + len;
    return at <= recordEnd;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return undefined; // session id, cipher suites, compression
  if (at + 2 > recordEnd) return [];
  const extEnd = Math.min(recordEnd, at + 2 + data.readUInt16BE(at));
  at += 2;
  while (at + 4 <= extEnd) {
    const type = data.readUInt16BE(at);
    const len = data.readUInt16BE(at + 2);
    at += 4;
    if (type === EXT_ALPN) return alpnNames(data.subarray(at, Math.min(at + len, extEnd)));
    at += len;
  }
  return [];
}

function alpnNames(ext: Buffer): string[] {
  const names: string[] = [];
  if (ext.length < 2) return names;
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  for (let at = 2; at < end;) {
    const len = ext[at]!;
    if (at + 1 + len > end) break;
    names.push(ext.subarray(at + 1, at + 1 + len).toString('latin1'));
    at += 1 + len;
  }
  return names;
}
