/** A URL fit for logs and error messages: its password (if any) replaced by `***`. Not a URL: a placeholder. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}
