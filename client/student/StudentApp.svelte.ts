/**
 * The student app's reactive state: device, student id, submissions, the connection, what the
 * screen shows now and what it announces. A thin shell over the submission core
 * (client/core/SubmissionQueue) on IndexedDB, plus the route `#/s/<qr>`.
 */
import { QR_URL_FRAGMENT_PREFIX, RECEIPT_VERSION_PARAM } from '../../protocol/index.ts';
import {
  answerText,
  submissionTitle,
  SubmissionQueue,
  isAnswered,
  isPending,
  queueProblemText,
  submitProblemText,
  type Reachability,
  type Submission,
} from '../core/index.ts';
import { loadOrCreateDevice, loadStudentId, saveStudentId } from '../lib/deviceKeys.ts';
import { openKeyValueStore } from '../lib/idbStore.ts';
import { IdbSessionDocStore } from '../lib/IdbSessionDocStore.ts';
import { IdbSubmissionStore } from '../lib/IdbSubmissionStore.ts';

export type Phase = 'loading' | 'setup' | 'ready' | 'broken';
export type View = 'home' | 'scan' | 'paste' | 'history' | 'settings';

/** What the student reads when the app cannot start, naming what failed. */
function startProblemText(error: unknown): string {
  if (typeof indexedDB === 'undefined') {
    return 'This browser gives the app no storage (IndexedDB is turned off, as in some private modes), so a scan could not be kept. Open the app in a normal browser tab.';
  }
  const detail = error instanceof Error ? error.message : String(error);
  return `The app could not start: ${detail}. Reload the page; if this happens again, free some storage space on this phone or open the app in a normal browser tab.`;
}

export class StudentApp {
  phase = $state<Phase>('loading');
  view = $state<View>('home');
  studentId = $state('');
  /** Every submission on this phone, newest first. */
  submissions = $state.raw<Submission[]>([]);
  connection = $state<Reachability>('checking');
  /** The submission just scanned (shown on the home screen even when it is an old answer). */
  currentNonce = $state<string | undefined>();
  /** A problem to show in the current view's alert region, always with what to do next. */
  problem = $state<string | undefined>();
  /** The last change worth announcing (the polite status region, always in the page). */
  announcement = $state('');

  /** The home screen: every submission not yet answered, the latest answer, and the one just scanned. */
  home = $derived.by(() => {
    const latestAnswer = this.submissions.find(isAnswered);
    return this.submissions.filter((s) => isPending(s) || s === latestAnswer || s.nonce === this.currentNonce);
  });

  #queue: SubmissionQueue | undefined;
  #pendingQrText: string | undefined;
  #saveId: (id: string) => Promise<void> = async () => {};

  async start(): Promise<void> {
    window.addEventListener('hashchange', () => this.#takeQrFromUrl());
    this.#takeQrFromUrl();
    try {
      const deviceStore = await openKeyValueStore('rollcall-device', 'device');
      const device = await loadOrCreateDevice(deviceStore);
      this.studentId = (await loadStudentId(deviceStore)) ?? '';
      this.#saveId = (id) => saveStudentId(deviceStore, id);
      const queue = new SubmissionQueue({
        device: device.keyPair,
        submissions: await IdbSubmissionStore.open(),
        docs: new IdbSessionDocStore(),
        relayOrigin: location.origin,
      });
      queue.on('changed', (list) => (this.submissions = list));
      queue.on('connection', (state) => (this.connection = state));
      queue.on('sent', (s) => this.#announce(s));
      queue.on('answered', (s) => this.#announce(s));
      queue.on('problem', (problem) => (this.problem = queueProblemText(problem)));
      queue.setNetwork(navigator.onLine);
      window.addEventListener('online', () => queue.setNetwork(true));
      window.addEventListener('offline', () => queue.setNetwork(false));
      this.#queue = queue;
      await queue.start();
      this.connection = queue.connection;
    } catch (error) {
      this.phase = 'broken';
      this.problem = startProblemText(error);
      return;
    }
    this.phase = this.studentId ? 'ready' : 'setup';
    await this.#submitPending();
  }

  async setStudentId(id: string): Promise<void> {
    this.studentId = id.trim();
    try {
      await this.#saveId(this.studentId);
    } catch (error) {
      this.problem = `Your student id could not be saved on this phone (${error instanceof Error ? error.message : String(error)}). Free some storage space, then save it again.`;
      return;
    }
    this.phase = 'ready';
    this.show('home');
    await this.#submitPending();
  }

  /** Submits what a scan, a paste or a QR link gave. Returns true when it was saved. */
  async submit(qrText: string): Promise<boolean> {
    if (!this.#queue || !this.studentId) {
      this.#pendingQrText = qrText;
      return false;
    }
    this.problem = undefined;
    const result = await this.#queue.submit(qrText, this.studentId);
    if (!result.ok) {
      this.problem = submitProblemText(result);
      return false;
    }
    this.currentNonce = result.submission.nonce;
    this.show('home');
    this.announcement = result.isRepeat
      ? `You already scanned this code: ${result.submission.course}, ${submissionTitle(result.submission).toLowerCase()}.`
      : `${result.submission.course}: ${submissionTitle(result.submission)}.`;
    return true;
  }

  show(view: View): void {
    this.problem = undefined;
    this.view = view;
  }

  #announce(submission: Submission): void {
    const reason = submission.state === 'rejected' || submission.attendance === 'late' ? ` ${answerText(submission)}` : '';
    this.announcement = `${submission.course}: ${submissionTitle(submission)}.${reason}`;
  }

  async #submitPending(): Promise<void> {
    const text = this.#pendingQrText;
    if (text === undefined || this.phase !== 'ready') return;
    this.#pendingQrText = undefined;
    await this.submit(text);
    // Drop the QR from the address bar once it is saved, so a reload shows the app, not the
    // scan again (a repeat would be recognised anyway: same QR, same student).
    if (location.hash.startsWith(QR_URL_FRAGMENT_PREFIX)) {
      // The `rv` hint (SPEC.md F3) belonged to that QR: it leaves with it.
      const query = new URLSearchParams(location.search);
      query.delete(RECEIPT_VERSION_PARAM);
      const search = query.toString() ? `?${query}` : '';
      history.replaceState(null, '', `${location.pathname}${search}#/`);
    }
  }

  /** `#/s/<payload_b64>.<signature>`: the phone's own camera app opened the QR link. */
  #takeQrFromUrl(): void {
    if (!location.hash.startsWith(QR_URL_FRAGMENT_PREFIX)) return;
    this.#pendingQrText = location.href;
    void this.#submitPending();
  }
}
