/** `rollcall login-link`: a new one-time dashboard login link from a running server. */
import { apiRequest, expectOk, type ServerOptions } from '../apiClient.ts';

export interface LoginLinkOptions extends ServerOptions {
  /** Minutes the link works (the server's default, 15, when absent). */
  expires?: number;
  json?: boolean;
}

export async function loginLinkCommand(options: LoginLinkOptions): Promise<void> {
  const answer = await apiRequest(options, 'POST', 'login_link', options.expires !== undefined ? { expires_minutes: options.expires } : {});
  expectOk(answer, 'making a login link');
  const link = answer.json as { login_url: string; expires_at: number };
  if (options.json) return void console.log(JSON.stringify(link));
  console.log(`Open this link once, in the browser that will run the dashboard (it works until ${new Date(link.expires_at).toLocaleTimeString()}):`);
  console.log(link.login_url);
}
