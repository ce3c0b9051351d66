/**
 * The dashboard's screens and their addresses (the fragment, so the validator serves one page):
 * `#/`, `#/courses`, `#/session/<id>`, `#/course/<name>`, `#/course/<name>/report`,
 * `#/course/<name>/student/<id>`. Names and ids are URI-encoded.
 */
export type Route =
  | { name: 'list' }
  | { name: 'courses' }
  | { name: 'session'; sessionId: string }
  | { name: 'course'; course: string }
  | { name: 'report'; course: string }
  | { name: 'student'; course: string; studentId: string };

function decoded(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

export function routeOf(hash: string): Route {
  if (hash === '#/courses') return { name: 'courses' };
  const session = /^#\/session\/([0-9a-f-]{36})$/.exec(hash);
  if (session?.[1]) return { name: 'session', sessionId: session[1] };
  const course = /^#\/course\/([^/]+)(?:\/(report)|\/student\/([^/]+))?$/.exec(hash);
  const name = course?.[1] ? decoded(course[1]) : undefined;
  if (course && name) {
    if (course[2]) return { name: 'report', course: name };
    const studentId = course[3] ? decoded(course[3]) : undefined;
    if (studentId) return { name: 'student', course: name, studentId };
    if (!course[3]) return { name: 'course', course: name };
  }
  return { name: 'list' };
}

export const hrefs = {
  list: () => '#/',
  courses: () => '#/courses',
  session: (sessionId: string) => `#/session/${sessionId}`,
  course: (course: string) => `#/course/${encodeURIComponent(course)}`,
  report: (course: string) => `#/course/${encodeURIComponent(course)}/report`,
  student: (course: string, studentId: string) => `#/course/${encodeURIComponent(course)}/student/${encodeURIComponent(studentId)}`,
};
