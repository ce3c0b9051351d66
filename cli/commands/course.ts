/** `rollcall course list|show|set`: courses and their settings (late rule, points, threshold, id comparison). */
import { InvalidArgumentError } from 'commander';
import { CourseResponseSchema, CoursesResponseSchema, type CourseSummary, type StatusPoints } from '../../protocol/index.ts';
import { apiRequest, CliError, parseAnswer, type ServerOptions } from '../apiClient.ts';

export interface CourseSetOptions extends ServerOptions {
  course: string;
  lateAfter?: number | null;
  threshold?: number;
  points?: StatusPoints;
  idCase?: 'insensitive' | 'sensitive';
  json?: boolean;
}

/**
 * `--points present=2,late=1,excused=none,absent=0` (Moodle's defaults), or percentages such as
 * `present=100,late=50,excused=none,absent=0`: every status named, `none` = not counted.
 */
export function parsePoints(text: string): StatusPoints {
  const given = new Map(
    text.split(',').map((pair) => {
      const [status, value] = pair.split('=').map((part) => part.trim());
      return [status ?? '', value ?? ''] as const;
    }),
  );
  const value = (status: keyof StatusPoints, allowNone: boolean): number | null => {
    const raw = given.get(status);
    if (raw === undefined) throw new InvalidArgumentError(`--points must name ${status} (e.g. present=2,late=1,excused=none,absent=0)`);
    if (allowNone && raw === 'none') return null;
    const number = Number(raw);
    if (raw === '' || !Number.isFinite(number) || number < 0 || number > 1000) throw new InvalidArgumentError(`--points: ${status} must be a number from 0 to 1000${allowNone ? ' or none' : ''}`);
    return number;
  };
  for (const status of given.keys()) if (!['present', 'late', 'excused', 'absent'].includes(status)) throw new InvalidArgumentError(`--points: unknown status "${status}" (present, late, excused, absent)`);
  return { present: value('present', false)!, late: value('late', false)!, excused: value('excused', true), absent: value('absent', false)! };
}

function describe(course: CourseSummary): string[] {
  const { settings } = course;
  return [
    `${course.course}: ${course.roster_size} students on the roster, ${course.session_count} sessions`,
    `  late after: ${settings.late_after_minutes === null ? 'never (no late status)' : `${settings.late_after_minutes} min after the start`}`,
    `  points: present ${settings.points.present}, late ${settings.points.late}, excused ${settings.points.excused ?? 'not counted'}, absent ${settings.points.absent}`,
    `  threshold: ${settings.threshold_percent} %`,
    `  student ids: compared ${settings.id_case === 'insensitive' ? 'ignoring case' : 'with case'} (always trimmed, Unicode NFC)`,
  ];
}

export async function listCourses(options: ServerOptions & { json?: boolean }, print: (line: string) => void = console.log): Promise<void> {
  const { courses } = parseAnswer(await apiRequest(options, 'GET', 'courses'), CoursesResponseSchema, 'listing courses');
  if (options.json) return void print(JSON.stringify(courses, null, 2));
  if (courses.length === 0) return void print('No courses yet: a course is made by its first session, roster import or `rollcall course set`.');
  for (const course of courses) print(`${course.course.padEnd(24)} ${String(course.roster_size).padStart(5)} students  ${String(course.session_count).padStart(4)} sessions`);
}

export async function showCourse(options: ServerOptions & { course: string; json?: boolean }, print: (line: string) => void = console.log): Promise<void> {
  const { courses } = parseAnswer(await apiRequest(options, 'GET', 'courses'), CoursesResponseSchema, 'reading the course');
  const course = courses.find((candidate) => candidate.course === options.course);
  if (!course) throw new CliError(`no course named "${options.course}": see \`rollcall course list\``);
  if (options.json) return void print(JSON.stringify(course, null, 2));
  for (const line of describe(course)) print(line);
}

export async function setCourse(options: CourseSetOptions, print: (line: string) => void = console.log): Promise<void> {
  const body = {
    course: options.course,
    ...(options.lateAfter !== undefined ? { late_after_minutes: options.lateAfter } : {}),
    ...(options.threshold !== undefined ? { threshold_percent: options.threshold } : {}),
    ...(options.points !== undefined ? { points: options.points } : {}),
    ...(options.idCase !== undefined ? { id_case: options.idCase } : {}),
  };
  const course = parseAnswer(await apiRequest(options, 'POST', 'course', body), CourseResponseSchema, 'changing the course');
  if (options.json) return void print(JSON.stringify(course, null, 2));
  for (const line of describe(course)) print(line);
}
