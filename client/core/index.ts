/**
 * The student clients' submission core (docs/apps.md "One submission core"): used unchanged by
 * the phone app (client/student/) and by `rollcall student` (cli/student/). Imports nothing
 * DOM- or Node-only; each shell brings its storage (SubmissionStore, SessionDocStore) and, in
 * Node, its WebSocket constructor.
 */
export { SubmissionQueue, syncUrlFor, type SubmissionQueueOptions, type SubmitResult, type QueueEvents, type QueueProblem } from './SubmissionQueue.ts';
export { MemorySubmissionStore, type SubmissionStore } from './SubmissionStore.ts';
export type { SessionDocStore, PersistedDoc } from './SessionDocStore.ts';
export { RelayClock, offsetFromRoundTrip } from './RelayClock.ts';
export { ConnectionState, type Reachability } from './ConnectionState.ts';
export { advance, isAnswered, isPending, latencyMs, newestFirst, type SessionFacts, type Submission, type SubmissionState } from './submission.ts';
export { ACCEPTED_LATE_TITLE, ACCEPTED_UNSAID_TEXT, CONNECTION_TEXT, STATE_TEXT, answerText, formatLatency, submissionTitle, pendingHint, queueProblemText, scanProblemText, submitProblemText } from './studentText.ts';
