/** `rollcall login-link`: a new one-time dashboard login link from a running server. */
import { LoginLinkResponseSchema } from '../../protocol/index.ts';
import { apiRequest, parseAnswer, type ServerOptions } from '../apiClient.ts';

export interface LoginLinkOptions extends ServerOptions {
  /** Minutes the link works (the server's default, 15, when absent). */
  expires?: number;
  json?: boolean;
}

export async function loginLinkCommand(options: LoginLinkOptions): Promise<void> {
  const answer = await apiRequest(options, 'POST', 'login_link', options.expires !== undefined ? { expires_minutes: options.expires } : {});
  const link = parseAnswer(answer, LoginLinkResponseSchema, 'making a login link');
  if (options.json) return void console.log(JSON.stringify(link));
  console.log(`Open this link once, in the browser that will run the dashboard (it works until ${new Date(link.expires_at).toLocaleTimeString()}):`);
  console.log(link.login_url);
}
