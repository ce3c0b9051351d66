/**
 * The validator part's entry: `createValidator` (store + HTTP routes, composable into any
 * node:http server) and `startValidatorServer` (a server of its own, used by `rollcall start`
 * and `rollcall validator`). Other parts and the CLI import only this file.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { DEFAULT_PORT } from '../protocol/index.ts';
import { loadOrCreateAdminToken } from './adminToken.ts';
import { sendError } from './httpIo.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { LISTEN_BACKLOG, type TrustedProxies } from '../net/index.ts';
import { ValidatorApi, type RelayStatus } from './ValidatorApi.ts';
import { DEFAULT_LOGIN_LINK_MINUTES, type LoginLink } from './ProfessorAuth.ts';
import { ValidatorStore } from './ValidatorStore.ts';

export { ValidatorStore, DB_FILE_NAME, type DecisionCounts, type RecordOutcome, type UnstoredRejections } from './ValidatorStore.ts';
export { decide, nodeRuleCrypto, type SubmissionInput, type EntryInput, type DirectInput, type KnownFacts, type RuleCrypto, type RuleDecision, type SessionRules } from './rules.ts';
export { decideAndRecord, type BatchResult } from './decideBatch.ts';
export { storeKnownFacts, BatchKnownFacts } from './knownFacts.ts';
export { nativeSharedKey } from './nativeSharedKey.ts';
export { signPayloadSync, verifySignatureSync } from './qrSigning.ts';
export { issueQr, isDirectPathOpen, newSessionRecord, publicSession, CreateSessionSchema, type IssuedQr, type PublicSession } from './sessions.ts';
export { loadOrCreateAdminToken, readAdminToken, adminTokenPath, ADMIN_TOKEN_FILE } from './adminToken.ts';
export { createLogger, silentLogger, type Logger } from '../log/index.ts';
export { DEFAULT_LOGIN_LINK_MINUTES, LOGIN_SECONDS, type LoginLink } from './ProfessorAuth.ts';
export { LOGIN_COOKIE_NAME } from './professorAccess.ts';
export { REJECTION_STATUS, DEFAULT_DIRECT_PATH_LIMITS, type DirectPathLimits } from './DirectSubmissions.ts';
import type { DirectPathLimits } from './DirectSubmissions.ts';
export type { SessionRecord, Decision, DecisionVia, AuditEvent, StoredReason } from './types.ts';
export { MANUAL_REASON } from './types.ts';
export { CourseStore, DEFAULT_COURSE_SETTINGS, type RosterInput, type RosterImportCounts } from './CourseStore.ts';
export type { StoreChange, DeleteSessionOutcome } from './ValidatorStore.ts';
export { courseContexts, courseReport, sessionCounts, sessionStatusesView, studentRecord } from './statusViews.ts';
export { canvasGradebookCsv, moodleGradebookCsv, rejectedCsv, reportStatusCsv, reportXlsx } from './reportExports.ts';

/** A request handler that answers its routes and returns true, or returns false to pass. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface ValidatorOptions {
  /** Folder of validator.db and admin-token (made if missing). */
  dataDir: string;
  logger?: Logger;
  /** Unix ms; tests and the sync follower may pass their own. */
  clock?: () => number;
  /** Base URL of the student app put in each QR's `qr_text` (default: this server's own URL). */
  appBaseUrl?: string;
  /** Require the admin token (or a dashboard login) on professor routes even from loopback. */
  requireToken?: boolean;
  /**
   * Every request comes through a reverse proxy, even one that adds no X-Forwarded-* header:
   * loopback peers get no trust, and X-Forwarded-Proto/Host name the browser's origin.
   */
  trustProxy?: boolean;
  /** Per-address limits of the direct path (`submissionsPerSecond: 0` turns the rate limit off). */
  directPathLimits?: Partial<DirectPathLimits>;
  /**
   * SPEC.md R11b: from these peers only, X-Forwarded-For names the client the direct path counts
   * (its rate limit, stored-rejection cap and `shared_address`). Default: none. It never makes
   * anyone the professor.
   */
  trustedProxies?: TrustedProxies;
}

/** The validator: its store and its HTTP routes, ready to be mounted in a server. */
export interface Validator {
  readonly store: ValidatorStore;
  /** The admin token (also in `<dataDir>/admin-token`). Never log it. */
  readonly adminToken: string;
  readonly dataDir: string;
  /** Answers the validator's routes; false for other paths. */
  handleHttp: HttpHandler;
  /** The student app's base URL used in `qr_text`. */
  appBaseUrl(): string;
  setAppBaseUrl(url: string): void;
  /** Host names besides localhost that loopback professors may use (the server's --host). */
  addTrustedHostName(name: string): void;
  /** Where /healthz (and the dashboard) read the follower's view of the relay. */
  setRelayStatus(status: () => RelayStatus | undefined): void;
  /** A one-time dashboard login link on the public URL (docs/http-api.md "Dashboard login"). Never log it. */
  newLoginLink(minutes?: number): LoginLink;
  close(): void;
}

export function createValidator(options: ValidatorOptions): Validator {
  const store = ValidatorStore.open(options.dataDir);
  const adminToken = loadOrCreateAdminToken(options.dataDir);
  const logger = options.logger ?? createLogger({ component: 'validator' });
  let appBaseUrl = options.appBaseUrl ?? `http://localhost:${DEFAULT_PORT}`;
  const trustedHostNames: string[] = [];
  let relayStatus: (() => RelayStatus | undefined) | undefined;
  const api = new ValidatorApi({
    store,
    adminToken,
    logger,
    clock: options.clock ?? Date.now,
    appBaseUrl: () => appBaseUrl,
    requireToken: options.requireToken ?? false,
    trustProxy: options.trustProxy ?? false,
    trustedHostNames: () => trustedHostNames,
    relayStatus: () => relayStatus?.(),
    ...(options.directPathLimits ? { directPathLimits: options.directPathLimits } : {}),
    ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
  });
  return {
    store,
    adminToken,
    dataDir: options.dataDir,
    handleHttp: (req, res) => api.handleHttp(req, res),
    appBaseUrl: () => appBaseUrl,
    setAppBaseUrl: (url) => {
      appBaseUrl = url.replace(/\/+$/, '');
    },
    addTrustedHostName: (name) => {
      // 0.0.0.0 and :: are where we listen, not names of this computer: a browser sends
      // Host: 0.0.0.0 for a page's request to http://0.0.0.0:<port>, which reaches us from any site.
      if (name === '0.0.0.0' || name === '::') return;
      trustedHostNames.push(name.toLowerCase());
    },
    setRelayStatus: (status) => {
      relayStatus = status;
    },
    newLoginLink: (minutes) => api.auth.newLoginLink(minutes),
    close: () => {
      api.events.close();
      store.close();
    },
  };
}

export interface ValidatorServerOptions extends Omit<ValidatorOptions, 'appBaseUrl'> {
  port?: number;
  /** Interface to listen on (default 127.0.0.1; 0.0.0.0 to let phones on the LAN reach it). */
  host?: string;
  /** Public URL of the student app for `qr_text` (default: http://<host>:<port>). */
  publicUrl?: string;
  /** Tried in order after the validator's routes (relay, static app). */
  extraHandlers?: HttpHandler[];
  /** WebSocket upgrades (the relay's /sync/<id>); without it upgrades are refused. */
  onUpgrade?: UpgradeHandler;
  /** Where the start banner (with the admin token) goes; default stdout. */
  print?: (line: string) => void;
  /**
   * Serve HTTPS (and WSS upgrades) on the port with this PEM certificate chain and key. Swap
   * them later with `server.setSecureContext` (open connections keep theirs).
   */
  tls?: { cert: Buffer | string; key: Buffer | string };
}

export interface RunningValidatorServer {
  validator: Validator;
  /** A node:https server with `tls`. */
  server: Server | HttpsServer;
  port: number;
  host: string;
  /** http://<host>:<port>, or https:// with `tls`. */
  url: string;
  close(): Promise<void>;
}

/** Starts a node:http server with the validator's routes (and any extra handlers). */
export async function startValidatorServer(options: ValidatorServerOptions): Promise<RunningValidatorServer> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? createLogger({ component: 'validator' });
  const validator = createValidator({ ...options, logger, ...(options.publicUrl ? { appBaseUrl: options.publicUrl } : {}) });
  const handlers: HttpHandler[] = [validator.handleHttp, ...(options.extraHandlers ?? [])];
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    try {
      for (const handler of handlers) if (handler(req, res)) return;
      sendError(res, 404, 'not_found', `nothing at ${(req.url ?? '/').split('?')[0]!.slice(0, 100)}; see docs/http-api.md for the routes`);
    } catch (error) {
      logger.error('handler threw', { error: error instanceof Error ? error.message : String(error) });
      sendError(res, 500, 'internal_error', 'internal error');
    }
  };
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, answer) : createServer(answer);
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n{"error":"malformed HTTP request","code":"bad_http"}');
    else socket.destroy();
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (options.onUpgrade) {
      try {
        options.onUpgrade(req, socket, head);
      } catch (error) {
        logger.error('upgrade handler threw', { error: error instanceof Error ? error.message : String(error) });
        socket.destroy();
      }
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port ?? DEFAULT_PORT, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const url = `${options.tls ? 'https' : 'http'}://${urlHost}:${port}`;
  if (!options.publicUrl) validator.setAppBaseUrl(url);
  validator.addTrustedHostName(host);
  const print = options.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  print(`Rollcall validator listening on ${url}`);
  print(`Data folder: ${options.dataDir}`);
  print(`Admin token (for professor routes from other computers): ${validator.adminToken}`);
  print(`Dashboard login link (works once, for ${DEFAULT_LOGIN_LINK_MINUTES} minutes; \`rollcall login-link\` makes another): ${validator.newLoginLink().url}`);
  return {
    validator,
    server,
    port,
    host,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          validator.close();
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
