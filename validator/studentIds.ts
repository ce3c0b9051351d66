/**
 * How a course compares student ids (docs/SPEC.md "Statuses", S6): trimmed, in Unicode NFC, and
 * without case unless the course says case matters. The key is for comparing only; the roster's
 * spelling is the one shown.
 */
import type { CourseSettings } from '../protocol/index.ts';

export function studentKey(studentId: string, idCase: CourseSettings['id_case']): string {
  const normal = studentId.trim().normalize('NFC');
  return idCase === 'insensitive' ? normal.toLowerCase() : normal;
}
