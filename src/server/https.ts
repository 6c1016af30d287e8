// The HTTPS listener: TLS with edge's defaults, the certificate picked by SNI, HTTP/2 and HTTP/1.1
// by ALPN. A plain TCP server accepts connections first so that, while a TLS-ALPN-01 challenge
// is pending, a handshake offering "acme-tls/1" can be handed to the challenge responder.

import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContext, type TLSSocket } from 'node:tls';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { Limits } from '../config/schema.ts';
import type { Challenges } from '../tls/challenges.ts';
import { offeredAlpn } from '../tls/client-hello.ts';
import { TLS_DEFAULTS } from '../tls/context.ts';
import { UnknownServerNameError, type CertificateTable } from '../tls/sni.ts';
import type { RequestHandler } from './handler.ts';
import { h2HeadSettings } from './h2-head.ts';
import { EdgeH2Response, EdgeResponse } from './response.ts';
import { headerSweepInterval, keepHalfOpen } from './listeners.ts';

type SniCallback = (err: Error | null, ctx?: SecureContext) => void;

/** A TLS record's largest size plus its header: past this, it is not a ClientHello worth waiting for. */
const MAX_HELLO = 16_384 + 5;

export class HttpsListener {
  /** Accepts TCP connections; the TLS servers below never listen themselves. */
  readonly front: TcpServer;
  readonly secure: Http2SecureServer;
  private readonly challengeServer;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();

  /** `onMiss` may find a certificate for an unknown name (on-demand TLS) while the handshake waits. */
  constructor(limits: Limits, handler: RequestHandler, certs: CertificateTable, challenges: Challenges, onMiss?: (name: string) => Promise<void>) {
    // HTTP/2 heads past max_header_size get the handler's 431; these only bound what Node holds
    const head = h2HeadSettings(limits.max_header_size);
    this.secure = createSecureServer({
      ...TLS_DEFAULTS,
      allowHTTP1: true,
      SNICallback: (name: string, cb: SniCallback) => {
        const context = certs.lookup(name);
        if (context) cb(null, context);
        else if (onMiss) onMiss(name).then(() => cb(null, certs.lookup(name)), (err: Error) => cb(err));
        else cb(new UnknownServerNameError(name));
      },
      handshakeTimeout: Math.min(limits.header_timeout || 30_000, 30_000),
      maxSessionMemory: 10,
      maxHeaderListPairs: head.maxHeaderListPairs,
      settings: { maxConcurrentStreams: 128, maxHeaderListSize: head.maxHeaderListSize },
      Http1ServerResponse: EdgeResponse,
      Http2ServerResponse: EdgeH2Response,
      ...http1Options(limits),
    }, handler.onRequest);
    keepHalfOpen(this.secure);
    timeHeads(this.secure, limits);
    this.secure.on('upgrade', handler.onUpgrade);
    // both for HTTP/1.1 (a socket) and HTTP/2 (a response) CONNECTs; without it Node answers
    // HTTP/2 ones itself, unlogged
    this.secure.on('connect', handler.onConnect);
    // HTTP/1.1 connections' parse errors
    this.secure.on('clientError', handler.onClientError);
    this.secure.on('checkContinue', handler.onCheckContinue);
    this.secure.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      watchPeer(session);
    });
    this.secure.setTimeout(limits.keepalive_timeout);
    // scanners and clients asking for names edge does not serve: expected, not worth a log line
    this.secure.on('tlsClientError', noop);

    this.challengeServer = createTlsServer({
      ...TLS_DEFAULTS,
      ALPNProtocols: ['acme-tls/1'],
      SNICallback: (name: string, cb: SniCallback) => {
        challenges.anyAlpnContext(name).then(
          (context) => (context ? cb(null, context) : cb(new UnknownServerNameError(name))),
          (err: Error) => cb(err),
        );
      },
    }, (socket: TLSSocket) => socket.end());
    this.challengeServer.on('tlsClientError', noop);

    this.front = createTcpServer({ noDelay: true }, (socket) => {
      // a reset before the TLS server takes the socket over (while its ClientHello is read) lands here
      socket.on('error', noop);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      if (!challenges.alpnPending) {
        this.secure.emit('connection', socket);
        return;
      }
      // read until the whole ClientHello record is in (it may come in several TCP segments)
      let seen = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk]);
        const alpn = offeredAlpn(seen);
        if (alpn === undefined && seen.length < MAX_HELLO) return;
        socket.off('data', onData);
        socket.setTimeout(0);
        socket.pause();
        socket.unshift(seen);
        (alpn?.includes('acme-tls/1') ? this.challengeServer : this.secure).emit('connection', socket);
      };
      socket.on('data', onData);
      socket.setTimeout(10_000, () => socket.destroy());
    });
  }

  /** The certificate for handshakes without a server name (clients that connect by IP address). */
  setDefaultCertificate(cert: { certPem: string; keyPem: string }): void {
    this.secure.setSecureContext({ ...TLS_DEFAULTS, cert: cert.certPem, key: cert.keyPem });
  }

  /** Stops accepting, and asks HTTP/2 clients to go elsewhere once their streams are done. */
  stopAccepting(): void {
    this.front.close();
    for (const session of this.sessions) session.close();
  }

  /** Closes whatever is still open: idle keep-alive connections, or requests past the grace period. */
  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

/** HTTP/1.1 over TLS: Node's parser answers 431 past the limit, as on the plain listener (not in the http2 typings, read all the same). */
function http1Options(limits: Limits): object {
  return { maxHeaderSize: limits.max_header_size };
}

/**
 * HTTP/1.1 over TLS gets header_timeout as plain HTTP/1.1 does. Node starts timing heads when the
 * server emits 'listening', which this one, handed its connections by the front server, never
 * did: a head could take forever there (a slow-loris over HTTPS). No whole-request clock, as on
 * the plain listener (Node's default of 5 min would cut long uploads); body_timeout watches.
 */
function timeHeads(server: Http2SecureServer, limits: Limits): void {
  Object.assign(server, { headersTimeout: limits.header_timeout, requestTimeout: 0, connectionsCheckingInterval: headerSweepInterval(limits.header_timeout) });
  server.emit('listening');
}

function noop(): void {}

/** How often a session with streams in flight is made to read its socket. */
const PEER_CHECK_MS = 2_000;

/** What of a TLS socket's TCP socket the check below reaches: Node internals, absent is harmless. */
interface WrappedSocket {
  _parent?: { _handle?: { readStart?: () => number } | null };
}

/**
 * A client that resets its connection while Node's HTTP/2 session has stopped reading it (it does
 * so while it considers a write under way, and with every stream's window used up none follows)
 * is never noticed: the socket is no longer polled, so its streams never close and their upstream
 * requests are held until the keep-alive timeout (seen: 1 run in 6 under load, Node 24.21).
 * Starting the TCP socket's reads again while streams are open lets the reset surface as the
 * read error it is, which destroys the session and closes its streams. Reading more than Node
 * asked for only hands HTTP/2 frames in sooner; the session handles them whenever they come.
 */
function watchPeer(session: ServerHttp2Session): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    if (session.destroyed) return;
    (session.socket as unknown as WrappedSocket)._parent?._handle?.readStart?.();
  };
  session.on('stream', (stream) => {
    if (open++ === 0) timer = setInterval(check, PEER_CHECK_MS).unref();
    stream.once('close', () => {
      if (--open === 0) clearInterval(timer);
    });
  });
  session.once('close', () => clearInterval(timer));
}
