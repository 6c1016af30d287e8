// What edge answers when Node's HTTP/1.1 parser gives up on a connection (the server's
// 'clientError'): the status Node itself would send, 431 for a head over max_header_size, 408 for
// one slower than header_timeout, 413 for chunk extensions over Node's limit, 400 for any other
// parse error; but with an access-log line, and without cutting an answer already given in full.
// Socket errors (resets) get no answer: nothing could read it.

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EdgeRes } from './response.ts';
import { answerRaw, sendStatus } from './status.ts';

/** The status for a parser error code, or 0 when it is no parse error (ECONNRESET and the like). */
export function parserStatus(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW': return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW': return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT': return 408;
    // the client closed the connection in the middle of a request: gone, not malformed (logged 499)
    case 'HPE_INVALID_EOF_STATE': return 0;
    default: return code !== undefined && code.startsWith('HPE_') ? 400 : 0;
  }
}

/**
 * Answers and closes. `logged` gets the status and body bytes of an answer written straight to
 * the socket; a response already under way on the connection logs itself when it closes.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, logged: (status: number, bytes: number) => void): void {
  // a further error on a connection edge is already closing
  if (socket.destroyed || socket.writableEnded) return;
  const status = parserStatus(err.code);
  // a connection that never sent a byte timed out: closed without an answer, as nginx does (a
  // browser's preconnect, mostly)
  if (status === 0 || !socket.writable || (status === 408 && (socket as Socket).bytesRead === 0)) {
    // a request under way loses its body: the upstream must not take it for a whole one
    (socket as { _httpMessage?: EdgeRes | null })._httpMessage?.cancelUpstream?.();
    socket.destroy();
    return;
  }
  // the response being written on this connection, if any: the field Node's own handler reads
  const inFlight = (socket as { _httpMessage?: EdgeRes | null })._httpMessage;
  if (!inFlight) {
    logged(status, answerRaw(socket, status));
    return;
  }
  // the parser is done with this connection: no more requests are read from it
  socket.pause();
  if (inFlight.writableEnded) {
    // edge already gave its whole answer (a 501 before the body, say): let it reach the client
    (socket as Socket).destroySoon();
  } else if (inFlight.headersSent) {
    socket.destroy();
  } else {
    // the request's body broke: the upstream must not take what came of it for a whole request
    inFlight.cancelUpstream?.();
    sendStatus(inFlight, status, { close: true });
  }
}
