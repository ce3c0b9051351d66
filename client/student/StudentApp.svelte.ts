/**
 * The student app's reactive state: device, student id, submissions, and what the screen
 * shows now. Wraps the plain-TS core (SubmissionQueue) and the route `#/s/<qr>`.
 */
import { QR_URL_FRAGMENT_PREFIX } from '../../protocol/index.ts';
import { measureClockOffset } from '../lib/clock.ts';
import { loadOrCreateDevice, loadStudentId, saveStudentId } from '../lib/deviceKeys.ts';
import { openKeyValueStore } from '../lib/idbStore.ts';
import { syncUrlFor } from '../lib/relayUrls.ts';
import { SubmissionQueue } from '../lib/SubmissionQueue.ts';
import type { Submission } from '../lib/submission.ts';

export type Phase = 'loading' | 'setup' | 'ready' | 'broken';
export type View = 'home' | 'scan' | 'paste' | 'history' | 'settings';

export class StudentApp {
  phase = $state<Phase>('loading');
  view = $state<View>('home');
  studentId = $state('');
  submissions = $state.raw<Submission[]>([]);
  /** The submission the home screen shows (the latest scan). */
  currentNonce = $state<string | undefined>();
  /** A problem to show, always with what to do next. */
  problem = $state<string | undefined>();
  notice = $state<string | undefined>();
  isOnline = $state(typeof navigator === 'undefined' ? true : navigator.onLine);

  current = $derived.by(() => this.submissions.find((s) => s.nonce === this.currentNonce));

  #queue: SubmissionQueue | undefined;
  #pendingQrText: string | undefined;

  async start(): Promise<void> {
    window.addEventListener('online', () => {
      this.isOnline = true;
      void measureClockOffset(location.origin);
    });
    window.addEventListener('offline', () => (this.isOnline = false));
    window.addEventListener('hashchange', () => this.#takeQrFromUrl());
    this.#takeQrFromUrl();
    try {
      const deviceStore = await openKeyValueStore('rollcall-device', 'device');
      const device = await loadOrCreateDevice(deviceStore);
      this.studentId = (await loadStudentId(deviceStore)) ?? '';
      this.#saveId = (id) => saveStudentId(deviceStore, id);
      const history = await openKeyValueStore('rollcall-history', 'submissions');
      this.#queue = new SubmissionQueue({
        device,
        history,
        syncUrl: syncUrlFor(location.origin),
        onChange: (list) => (this.submissions = list),
      });
      await this.#queue.start();
    } catch {
      this.phase = 'broken';
      this.problem = 'This browser does not let the app keep data (private mode or storage blocked). Open the app in a normal browser tab.';
      return;
    }
    void measureClockOffset(location.origin);
    this.phase = this.studentId ? 'ready' : 'setup';
    await this.#submitPending();
  }

  #saveId: (id: string) => Promise<void> = async () => {};

  async setStudentId(id: string): Promise<void> {
    this.studentId = id.trim();
    await this.#saveId(this.studentId);
    this.phase = 'ready';
    this.view = 'home';
    await this.#submitPending();
  }

  /** Submits what a scan, a paste or a QR link gave. Returns true when it was saved. */
  async submit(qrText: string): Promise<boolean> {
    if (!this.#queue || !this.studentId) {
      this.#pendingQrText = qrText;
      return false;
    }
    this.problem = undefined;
    this.notice = undefined;
    const result = await this.#queue.submit(qrText, this.studentId);
    if (!result.ok) {
      this.problem = result.error;
      return false;
    }
    this.currentNonce = result.submission.nonce;
    if (result.isRepeat) this.notice = 'You already scanned this code: here is what happened to it.';
    this.view = 'home';
    return true;
  }

  show(view: View): void {
    this.problem = undefined;
    this.notice = undefined;
    this.view = view;
  }

  async #submitPending(): Promise<void> {
    const text = this.#pendingQrText;
    if (text === undefined || this.phase !== 'ready') return;
    this.#pendingQrText = undefined;
    await this.submit(text);
    // Drop the QR from the address bar once it is saved, so a reload shows the app, not the
    // scan again (a repeat would be recognised anyway: same QR, same student).
    if (location.hash.startsWith(QR_URL_FRAGMENT_PREFIX)) history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  }

  /** `#/s/<payload_b64>.<signature>`: the phone's own camera app opened the QR link. */
  #takeQrFromUrl(): void {
    if (!location.hash.startsWith(QR_URL_FRAGMENT_PREFIX)) return;
    this.#pendingQrText = location.href;
    void this.#submitPending();
  }
}
