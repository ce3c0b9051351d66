/**
 * `rollcall`: the command line. Servers (`start`, `validator`, `relay`) run in this process;
 * `session …` and `attendance` talk to a running server over HTTP. Errors are one line and
 * exit code 1; `--help` on every command lists its options.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_PORT } from '../protocol/index.ts';
import { LOG_FORMATS } from '../log/index.ts';
import { CliError } from './apiClient.ts';
import { runRelayServer, runServer, runStart, runValidatorServer, type ServeOptions } from './commands/serve.ts';
import { loginLinkCommand } from './commands/loginLink.ts';
import { enrolCommand, listValidatorsCommand, revokeCommand } from './commands/relayTrust.ts';
import { OLD_TRUSTED_PROXIES_ENV, TRUSTED_PROXIES_ENV, parseTrustedProxies } from '../net/index.ts';
import { DEFAULT_RELAY_LIMITS } from '../relay/limits.ts';
import { ATTENDANCE_STATUSES, AUDIT_PAGE_MAX, ID_CASES } from '../protocol/index.ts';
import { listCourses, parsePoints, setCourse, showCourse } from './commands/course.ts';
import { markStudent, showAuditLog, showStatuses } from './commands/marks.ts';
import { showReport } from './commands/report.ts';
import { importRoster, showRoster } from './commands/roster.ts';
import { createSession, deleteSession, endSession, listSessions, setSessionOptions, showAttendance } from './commands/session.ts';

function integer(name: string, min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return value;
  };
}

function positiveNumber(name: string, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0 || value > max) throw new InvalidArgumentError(`${name} must be a number above 0 and at most ${max}`);
    return value;
  };
}

/**
 * Minutes, or `none` (no late status). `none` stays a word until {@link lateAfterOption}:
 * commander stores a parser's null as '' (so `course set --late-after none` once sent '').
 */
function lateAfter(text: string): number | 'none' {
  if (text === 'none') return 'none';
  const minutes = Number(text);
  if (!/^\d+$/.test(text.trim()) || minutes > 1440) throw new InvalidArgumentError('--late-after must be a whole number of minutes from 0 to 1440, or none (no late status)');
  return minutes;
}

/** A parsed `--late-after` as the API's late_after_minutes (null: no late status); nothing when not given. */
function lateAfterOption(given: number | 'none' | undefined): { lateAfter?: number | null } {
  return given === undefined ? {} : { lateAfter: given === 'none' ? null : given };
}

/** Unix seconds, or an ISO date/time such as 2025-03-01T09:00. */
function startsAt(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('use Unix seconds or a date and time like 2025-03-01T09:00');
  return Math.floor(ms / 1000);
}

const serverOptions = (command: Command) =>
  command
    .option('--server <url>', 'URL of the running Rollcall', process.env.ROLLCALL_SERVER ?? `http://localhost:${DEFAULT_PORT}`)
    .option('--token <token>', 'admin token (default: $ROLLCALL_ADMIN_TOKEN, else the token file in --data; not needed on the same computer)')
    .option('--data <dir>', 'data folder whose admin-token file to read', './data');

/** On every server command: `auto` writes human lines on a terminal and JSON lines otherwise. */
const logFormatOption = () =>
  new Option('--log-format <format>', 'log lines on stderr: json (one JSON object a line), pretty (for a person), auto (pretty on a terminal, else json)')
    .choices(LOG_FORMATS)
    .default('auto');

/** On the commands that run a relay: a load balancer's time to notice a stopping relay. */
const drainOption = () =>
  new Option('--drain-seconds <seconds>', 'on SIGTERM, answer /readyz 503 this long before telling connected phones to reconnect (behind a load balancer)')
    .default(0)
    .argParser(integer('--drain-seconds', 0, 600));

/** `rollcall relay` and its trust subcommands: the shared PostgreSQL store of several relays (the URL is never printed with its password). */
const storeOption = () =>
  new Option('--store <url>', 'keep rooms and trust in PostgreSQL, shared by several relays: postgres://user[:password]@host[:port]/database (default: SQLite files in --data)').env(
    'ROLLCALL_RELAY_STORE',
  );

/** R11, on the commands that run a relay (`start`, `relay`). */
const maxConnectionsOption = () =>
  new Option('--max-connections-per-address <n>', 'WebSocket connections allowed from one address (a lecture hall behind one NAT is one address: raise it there)')
    .default(512)
    .argParser(integer('--max-connections-per-address', 1, 1_000_000));

/** Each `--trusted-proxy` value, checked, added to the ones before it (the option repeats). */
function trustedProxyList(text: string, previous: string[] | undefined): string[] {
  const parsed = parseTrustedProxies([text]);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return [...(previous ?? []), ...parsed.proxies.entries];
}

/**
 * R11a and R11b, on the commands that serve phones (`start`, `relay`, `validator`): a proxy whose
 * X-Forwarded-For names the client. ROLLCALL_RELAY_TRUSTED_PROXIES, its name before the
 * validator took it too, still works on `start` and `relay` (`withOldTrustedProxyName`).
 */
const trustedProxyOption = (counted: string, { readsOldName }: { readsOldName: boolean }) =>
  new Option(
    '--trusted-proxy <list>',
    `IP addresses and CIDR ranges (comma-separated, IPv4 or IPv6; repeatable) of the proxy or load balancer in front (Caddy on this computer: 127.0.0.1): from these peers only, X-Forwarded-For names the client that ${counted}; from any other peer the header is ignored${readsOldName ? `; ${OLD_TRUSTED_PROXIES_ENV}, the old name, is read when neither is given` : ''}`,
  )
    .env(TRUSTED_PROXIES_ENV)
    .argParser(trustedProxyList);

/**
 * `ROLLCALL_RELAY_TRUSTED_PROXIES`, the old name of the variable, when neither the flag nor the
 * new name is given: an operator's unit file written for the relay keeps working (and, on
 * `rollcall start`, now covers the embedded validator's direct path too).
 */
function withOldTrustedProxyName(options: ServeOptions): ServeOptions {
  const old = process.env[OLD_TRUSTED_PROXIES_ENV];
  if (options.trustedProxy !== undefined || old === undefined || old.trim() === '') return options;
  const parsed = parseTrustedProxies([old]);
  if (!parsed.ok) throw new CliError(`${OLD_TRUSTED_PROXIES_ENV} (the old name of ${TRUSTED_PROXIES_ENV}): ${parsed.error}`);
  return { ...options, trustedProxy: [...parsed.proxies.entries] };
}

const listenOptions = (command: Command, what: string) =>
  command
    .addOption(new Option('--port <port>', `port to serve ${what} on`).default(DEFAULT_PORT).argParser(integer('--port', 0, 65535)))
    .option('--host <address>', 'interface to listen on (0.0.0.0: every interface, so phones on the LAN can reach it; 127.0.0.1: this computer only)', '0.0.0.0')
    .option('--data <dir>', 'data folder (SQLite databases, admin token)', './data')
    .option('--tls-cert <file>', 'serve HTTPS and WSS on the port with this PEM certificate (its chain may follow it); reloaded when the file changes or on SIGHUP')
    .option('--tls-key <file>', 'the private key (PEM, unencrypted) of --tls-cert');

/** The direct path's rate limit per client address (docs/http-api.md). */
const directPathOptions = (command: Command) =>
  command
    .option('--direct-rate <per_second>', 'direct path (POST /submit_attendance): submissions per second per client address, 0 = no limit (default 5)', integer('--direct-rate', 0, 100_000))
    .option('--direct-burst <count>', 'direct path: submissions one client address may make at once (default 20)', integer('--direct-burst', 1, 100_000));

export function buildProgram(): Command {
  const program = new Command('rollcall')
    .description('Local-first QR attendance: rotating signed QR codes, offline-first student submissions, one validator on the professor’s laptop.')
    .showHelpAfterError('(run with --help for usage)')
    // `rollcall relay enroll --data X`: X is the subcommand's, not the relay server's option.
    .enablePositionalOptions()
    .configureOutput({ outputError: (text, write) => write(text) });

  directPathOptions(
    listenOptions(
      program
        .command('start')
        .description('run all of Rollcall in one process on one port: validator (API, dashboard at /professor/), relay (/sync/<id>, /time) and the student app at /'),
      'Rollcall',
    )
      .option('--public-url <url>', 'URL phones use to reach this server, put in each QR (default: http://<LAN address>:<port>)')
      .option('--require-token', 'require the admin token (or a dashboard login) on professor routes even from this computer')
      .option('--trust-proxy', 'every request comes through a reverse proxy on this computer (nginx, Caddy): loopback is not the professor; X-Forwarded-Proto/Host are believed')
      .addOption(maxConnectionsOption())
      .addOption(trustedProxyOption('R11 counts (relay connections, enrolment attempts) and the direct path counts (its rate limit, shared_address; never who is the professor)', { readsOldName: true }))
      .addOption(drainOption())
      .addOption(logFormatOption()),
  ).action((options: ServeOptions) => runServer(withOldTrustedProxyName(options), runStart));

  directPathOptions(
    listenOptions(program.command('validator').description('run only the validator (sessions, decisions, HTTP API)'), 'the validator')
      .option('--public-url <url>', 'URL phones use to reach the student app, put in each QR')
      .option('--require-token', 'require the admin token (or a dashboard login) on professor routes even from this computer')
      .option('--trust-proxy', 'every request comes through a reverse proxy on this computer: loopback is not the professor; X-Forwarded-Proto/Host are believed')
      .option('--relay <url>', 'relay to follow session rooms on, e.g. wss://relay.example.edu (without it: only the seed’s direct HTTP path)')
      .option('--enroll <code>', 'redeem the relay operator’s one-time enrolment code (once; the relay then trusts this laptop’s key)')
      .option('--relay-ca <file>', 'also trust this CA certificate (PEM) for a wss:// relay whose certificate a private CA signed (or set NODE_EXTRA_CA_CERTS)')
      .addOption(trustedProxyOption('the direct path counts (its rate limit, stored-rejection cap, shared_address; never who is the professor)', { readsOldName: false }))
      .addOption(logFormatOption()),
  ).action((options: ServeOptions) => runServer(options, runValidatorServer));

  const print = (line: string) => void process.stdout.write(`${line}\n`);
  const relay = listenOptions(
    program
      .command('relay')
      .description(
        'run only the sync relay (y-websocket rooms at /sync/<session_id>, persisted in SQLite under --data, or in PostgreSQL with --store for several relays behind a load balancer, joined by --bus); its subcommands manage which validators it trusts',
      ),
    'the relay',
  )
    .enablePositionalOptions()
    .addOption(storeOption())
    .addOption(
      new Option('--bus <url>', 'several relays on one --store: Redis to hear each other’s updates, redis://[:password@]host:port (needs --store)').env('ROLLCALL_RELAY_BUS'),
    )
    .addOption(
      new Option('--store-batch-ms <ms>', 'with --store: updates admitted within this many ms are stored in one PostgreSQL statement (0: only those arriving together); each waits at most this long')
        .default(DEFAULT_RELAY_LIMITS.storeBatchMs)
        .argParser(integer('--store-batch-ms', 0, 1000)),
    )
    .addOption(
      new Option('--store-pool <n>', 'with --store: connections to PostgreSQL this relay opens at start and keeps (more queries at once wait for one); size max_connections for this many per relay')
        .default(DEFAULT_RELAY_LIMITS.storePool)
        .argParser(integer('--store-pool', 1, 100))
        .env('ROLLCALL_RELAY_STORE_POOL'),
    )
    .addOption(maxConnectionsOption())
    .addOption(trustedProxyOption('R11 counts (connections and enrolment attempts per address)', { readsOldName: true }))
    .addOption(drainOption())
    .addOption(logFormatOption())
    .action((options: ServeOptions) => runServer(withOldTrustedProxyName(options), runRelayServer));
  relay
    .command('enroll')
    .description('make a one-time code that lets one validator (a professor’s laptop) open rooms on this relay')
    .requiredOption('--name <name>', 'what to call that validator, e.g. prof-lovelace-laptop (used to revoke it)')
    .option('--expires <hours>', 'hours the code stays valid', positiveNumber('--expires', 24 * 30), 24)
    .option('--data <dir>', 'the relay’s data folder', './data')
    .addOption(storeOption())
    .action((options: { name: string; expires: number; data: string; store?: string }) =>
      enrolCommand({ name: options.name, expiresHours: options.expires, data: options.data, ...(options.store ? { store: options.store } : {}) }, print),
    );
  relay
    .command('revoke')
    .description('stop trusting a validator: its connections close and its rooms refuse new entries')
    .argument('<name>', 'the name given at enrolment')
    .option('--data <dir>', 'the relay’s data folder', './data')
    .addOption(storeOption())
    .action((name: string, options: { data: string; store?: string }) => revokeCommand({ name, data: options.data, ...(options.store ? { store: options.store } : {}) }, print));
  relay
    .command('validators')
    .description('list the validators this relay trusts (and revoked ones)')
    .option('--data <dir>', 'the relay’s data folder', './data')
    .addOption(storeOption())
    .option('--json', 'print JSON')
    .action((options: { data: string; json?: boolean; store?: string }) => listValidatorsCommand(options, print));

  const session = program.command('session').description('create, list, change, end and delete sessions on a running Rollcall; a session’s statuses');
  serverOptions(
    session
      .command('create')
      .description('create a session; prints the QR JSON and draws the QR in the terminal')
      .requiredOption('--course <name>', 'course name (at most 64 characters)')
      .requiredOption('--duration <minutes>', 'length of the session in minutes', positiveNumber('--duration', 1440))
      .option('--starts-at <when>', 'start time: Unix seconds or a date like 2025-03-01T09:00 (default: now)', startsAt)
      .option('--rotate <seconds>', 'QR rotation period in seconds, 0 for a static QR (default 10)', integer('--rotate', 0, 3600))
      .option('--skew <seconds>', 'clock skew tolerated around a rotating QR (default 120)', integer('--skew', 0, 3600))
      .option('--late-sync <minutes>', 'how long after the end offline submissions are still accepted (default 1440)', integer('--late-sync', 0, 43200))
      .option('--late-after <minutes>', 'scans more than this many minutes after the start are marked late (default: the course’s setting, see `rollcall course set`)', integer('--late-after', 0, 1440))
      .option('--no-direct-path', 'close the direct path (POST /submit_attendance, no device checks) for this session: students submit through the app only')
      .option('--json', 'print the whole answer as JSON only'),
  ).action((options) => createSession(options));
  serverOptions(
    session
      .command('list')
      .description('list sessions with their counts (present, late, excused, absent; accepted and rejected scans)')
      .option('--course <name>', 'only this course’s sessions')
      .option('--json', 'print JSON'),
  ).action((options) => listSessions(options));
  serverOptions(
    session
      .command('options')
      .alias('set')
      .description('change a session’s options, live or ended: the direct path, and when scans count as late (statuses follow at once)')
      .argument('<session_id>', 'the session to change')
      .option('--direct-path', 'open the direct path (POST /submit_attendance) for this session')
      .option('--no-direct-path', 'close the direct path: submissions through it are answered 403 direct_path_disabled')
      .option('--late-after <minutes>', 'scans more than this many minutes after the start are late; none: no late status (receipts already sent keep what they said)', lateAfter),
  ).action((sessionId: string, options) => setSessionOptions({ ...options, ...lateAfterOption(options.lateAfter), sessionId }));
  serverOptions(session.command('end').description('end a session now').argument('<session_id>', 'the session to end')).action((sessionId: string, options) =>
    endSession({ ...options, sessionId }),
  );

  serverOptions(session.command('delete').description('delete a session that has no accepted scan (a test session), with its rejected submissions; a live session must be ended first').argument('<session_id>', 'the session to delete')).action(
    (sessionId: string, options) => deleteSession({ ...options, sessionId }),
  );
  serverOptions(
    session
      .command('statuses')
      .description('every roster student’s status in a session (present, late, excused, absent; * provisional), the review list of flagged scans, and every change made')
      .argument('<session_id>', 'the session')
      .option('--json', 'print JSON'),
  ).action((sessionId: string, options) => showStatuses({ ...options, sessionId }));

  serverOptions(
    program
      .command('mark')
      .description('set a student’s status in a session (kept with who, when, before, after and the note in the audit trail); also confirms a flagged scan')
      .argument('<session_id>', 'the session')
      .argument('<student_id>', 'the student (compared as the course compares ids)')
      .addArgument(new Argument('<status>', 'the new status').choices(ATTENDANCE_STATUSES))
      .option('--note <text>', 'why (at most 500 characters), e.g. "doctor’s note"')
      .option('--json', 'print JSON'),
  ).action((sessionId: string, studentId: string, status: (typeof ATTENDANCE_STATUSES)[number], options) => markStudent({ ...options, sessionId, studentId, status }));

  const roster = program.command('roster').description('a course’s roster: import it from a Moodle or Canvas CSV export, show it');
  serverOptions(
    roster
      .command('import')
      .description(
        'import a roster CSV (Moodle participants export, Canvas gradebook export, or any CSV with a student id column): shows the columns, the mapping and sample rows, then imports; a re-import updates students, never duplicates them',
      )
      .requiredOption('--course <name>', 'the course the roster belongs to')
      .argument('<file.csv>', 'the CSV file (comma, semicolon or tab separated)')
      .option('--id-column <column>', 'the column holding student ids (default: detected, e.g. "ID number" for Moodle, "SIS User ID" for Canvas)')
      .option('--name-column <column>', 'the column holding full names')
      .option('--first-name-column <column>', 'the column holding first names')
      .option('--last-name-column <column>', 'the column holding last names')
      .option('--email-column <column>', 'the column holding email addresses')
      .option('--section-column <column>', 'the column holding sections or groups')
      .option('--remove-missing', 'also remove roster students the file does not list (default: keep them)')
      .option('--dry-run', 'show the columns, the mapping and sample rows; import nothing')
      .option('--json', 'print the import’s result as JSON'),
  ).action((file: string, options) => importRoster({ ...options, file }));
  serverOptions(roster.command('show').description('list a course’s roster').requiredOption('--course <name>', 'the course').option('--json', 'print JSON')).action((options) => showRoster(options));

  const course = program.command('course').description('courses and their settings: late rule, points per status, threshold, how student ids compare');
  serverOptions(course.command('list').description('list courses with roster size and session count').option('--json', 'print JSON')).action((options) => listCourses(options));
  serverOptions(course.command('show').description('show a course’s settings').argument('<name>', 'the course').option('--json', 'print JSON')).action((name: string, options) =>
    showCourse({ ...options, course: name }),
  );
  serverOptions(
    course
      .command('set')
      .description('create a course or change its settings (unnamed settings keep their value)')
      .argument('<name>', 'the course')
      .option('--late-after <minutes>', 'default for new sessions: scans more than this many minutes after the start are late; "none" for no late status', lateAfter)
      .option('--threshold <percent>', 'students under this attendance percentage are listed first in the report (default 80)', integer('--threshold', 0, 100))
      .option('--points <table>', 'points per status, e.g. present=2,late=1,excused=none,absent=0 (Moodle’s default; none = not counted) or present=100,late=50,excused=none,absent=0', parsePoints)
      .addOption(new Option('--id-case <how>', 'compare student ids ignoring case (default) or with case').choices(ID_CASES))
      .option('--json', 'print JSON'),
  ).action((name: string, options) => setCourse({ ...options, ...lateAfterOption(options.lateAfter), course: name }));

  serverOptions(
    program
      .command('report')
      .description('the term report of a course: students × sessions, totals and percentage, those under the threshold first; or its CSV, .xlsx and gradebook exports, or one student’s record')
      .requiredOption('--course <name>', 'the course')
      .option('--csv', 'print the statuses as CSV: course, session date (local and ISO), student, status, points, provisional')
      .option('--xlsx <file>', 'write the report as an Excel workbook to this file')
      .addOption(new Option('--gradebook <lms>', 'print a gradebook CSV for import: moodle (Import grades from CSV) or canvas (gradebook import)').choices(['moodle', 'canvas']))
      .option('--rejected', 'print the rejected submissions of the course’s sessions as CSV')
      .option('--student <id>', 'one student’s record: every session, how each status came about, every change')
      .option('--output <file>', 'write CSV output to this file instead of standard output')
      .option('--tz <zone>', 'time zone of local dates, e.g. Europe/Paris (default: this computer’s)')
      .option('--json', 'print JSON (the report, or with --student the record)'),
  ).action((options) => showReport(options));

  serverOptions(
    program
      .command('attendance')
      .description('show who is present in a session')
      .argument('<session_id>', 'the session')
      .option('--csv', 'print CSV (for a spreadsheet)')
      .option('--json', 'print JSON'),
  ).action((sessionId: string, options) => showAttendance({ ...options, sessionId }));

  serverOptions(
    program
      .command('audit')
      .description('the audit log, newest first: sessions created, ended and changed, marks and overrides, rosters, course settings, logins (who, when, what)')
      .option('--session <id>', 'only this session’s events')
      .option('--course <name>', 'only this course’s events (its sessions, roster and settings)')
      .option('--limit <n>', `at most this many events (default 100, at most ${AUDIT_PAGE_MAX})`, integer('--limit', 1, AUDIT_PAGE_MAX))
      .option('--before <id>', 'only events older than this id (the next page: the command prints it)', integer('--before', 1, Number.MAX_SAFE_INTEGER))
      .option('--json', 'print JSON: {"events": [...], "next_before"}'),
  ).action((options) => showAuditLog(options));

  serverOptions(
    program
      .command('login-link')
      .description('print a new one-time login link for the professor dashboard (for a browser on another computer or behind a reverse proxy)')
      .option('--expires <minutes>', 'minutes the link works (default 15)', positiveNumber('--expires', 24 * 60))
      .option('--json', 'print JSON: {"login_url", "expires_at"}'),
  ).action((options) => loginLinkCommand(options));

  registerStudent(program);
  return program;
}

/** `rollcall student` lives in cli/student/ (the terminal student client); loaded only when used. */
function registerStudent(program: Command): void {
  const entry = join(dirname(fileURLToPath(import.meta.url)), 'student', 'runStudent.ts');
  program
    .command('student')
    .description('the terminal student client: scan (paste) a QR, submit, see the receipt; works offline')
    .requiredOption('--student-id <id>', 'your student id, e.g. 2022IMT-048')
    .option('--server <url>', 'the relay to sync with', process.env.ROLLCALL_SERVER ?? `http://localhost:${DEFAULT_PORT}`)
    .addOption(new Option('--network <state>', 'start online or offline').choices(['online', 'offline']).default('online'))
    .option('--data <dir>', 'this device’s data folder (device key, queued submissions)', './student-data')
    .option('--qr <text>', 'QR text (the QR link, as the professor\'s screen shows it) or the QR JSON to submit (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--wait <seconds>', 'wait this long for receipts, then exit (no interactive menu)', integer('--wait', 0, 86400))
    .addHelpText(
      'after',
      '\nExit codes: 0 every submission accepted (offline: saved); 2 one was rejected, or a --qr could not be submitted;\n' +
        '3 --wait ran out with receipts still awaited (they stay saved and sync on the next run); 1 the command failed.',
    )
    .action(async (options: { studentId: string; server: string; network: 'online' | 'offline'; data: string; qr: string[]; wait?: number }) => {
      if (!existsSync(entry)) throw new CliError('the student client is not available in this build');
      const { runStudent } = (await import(pathToFileURL(entry).href)) as typeof import('./student/runStudent.ts');
      process.exitCode = await runStudent({
        studentId: options.studentId,
        server: options.server,
        network: options.network,
        data: options.data,
        qr: options.qr,
        ...(options.wait !== undefined ? { waitSeconds: options.wait } : {}),
      });
    });
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`rollcall: ${error.message}\n`);
  } else {
    process.stderr.write(`rollcall: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exitCode = 1;
}
