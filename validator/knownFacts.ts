/**
 * `KnownFacts` for the rules: read from the store, and, for a batch, with the decisions made
 * earlier in the same batch layered on top (they are not in the store yet).
 */
import type { KnownFacts } from './rules.ts';
import type { ValidatorStore } from './ValidatorStore.ts';
import type { Decision, SessionRecord } from './types.ts';

/** Lookups against the store, scoped to one session. */
export function storeKnownFacts(store: ValidatorStore, session: Pick<SessionRecord, 'id' | 'course'>): KnownFacts {
  return {
    isStudentAccepted: (studentId) => store.acceptedStudent(session.id, studentId) !== undefined,
    deviceStudent: (deviceKey) => store.deviceBinding(session.id, deviceKey),
    studentDevices: (studentId) => store.studentDevices(studentId),
    isOnRoster: (studentId) => store.isOnRoster(session.course, studentId),
    wasConnectedThroughout: (fromMs, toMs) => store.wasConnectedThroughout(session.id, fromMs, toMs),
    wasAddressUsedByAnotherStudent: (clientAddress, studentId) => store.wasAddressUsedByAnotherStudent(session.id, clientAddress, studentId),
  };
}

/**
 * Wraps `known` so that acceptances passed to `add` count as known. Use while deciding a batch
 * before `recordDecisions` stores it, so two entries of one student in the same batch are
 * accepted once and the second is `duplicate`.
 */
export class BatchKnownFacts implements KnownFacts {
  readonly #known: KnownFacts;
  readonly #acceptedStudents = new Set<string>();
  readonly #deviceStudents = new Map<string, string>();
  readonly #studentDevices = new Map<string, string[]>();
  readonly #addressStudents = new Map<string, Set<string>>();

  constructor(known: KnownFacts) {
    this.#known = known;
  }

  add(decision: Decision): void {
    if (decision.clientAddress !== undefined && decision.studentId !== undefined) {
      // Every decision the batch will store counts here, rejections too (as in the store's lookup).
      const students = this.#addressStudents.get(decision.clientAddress) ?? new Set<string>();
      students.add(decision.studentId);
      this.#addressStudents.set(decision.clientAddress, students);
    }
    if (decision.status !== 'accepted' || decision.studentId === undefined) return;
    this.#acceptedStudents.add(decision.studentId);
    if (decision.deviceKey !== undefined) {
      if (!this.#deviceStudents.has(decision.deviceKey)) this.#deviceStudents.set(decision.deviceKey, decision.studentId);
      const devices = this.#studentDevices.get(decision.studentId) ?? [];
      devices.push(decision.deviceKey);
      this.#studentDevices.set(decision.studentId, devices);
    }
  }

  isStudentAccepted(studentId: string): boolean {
    return this.#acceptedStudents.has(studentId) || this.#known.isStudentAccepted(studentId);
  }

  deviceStudent(deviceKey: string): string | undefined {
    return this.#known.deviceStudent(deviceKey) ?? this.#deviceStudents.get(deviceKey);
  }

  studentDevices(studentId: string): readonly string[] {
    return [...this.#known.studentDevices(studentId), ...(this.#studentDevices.get(studentId) ?? [])];
  }

  isOnRoster(studentId: string): boolean | undefined {
    return this.#known.isOnRoster(studentId);
  }

  wasConnectedThroughout(fromMs: number, toMs: number): boolean {
    return this.#known.wasConnectedThroughout(fromMs, toMs);
  }

  wasAddressUsedByAnotherStudent(clientAddress: string, studentId: string): boolean {
    const students = this.#addressStudents.get(clientAddress);
    return (students !== undefined && [...students].some((other) => other !== studentId)) || this.#known.wasAddressUsedByAnotherStudent(clientAddress, studentId);
  }
}
