/** What the console is told at deploy time (`/config.json`): where the API is and how to sign in. */
export interface ConsoleConfig {
  /** The shop API's base URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/v1`. */
  apiUrl: string;
  /** `local`: served by the local cloud (user picker, local cloud page); `aws`: Cognito hosted UI. */
  mode: 'local' | 'aws';
  cognito?: { domain: string; clientId: string; region?: string };
  /** Local cloud only: the console server's own control routes (token, local cloud state). */
  local?: { tokenUrl: string; controlUrl: string };
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  const config = (await response.json()) as ConsoleConfig;
  if (typeof config.apiUrl !== 'string' || !/^https?:\/\//.test(config.apiUrl))
    throw new Error('/config.json has no apiUrl');
  return { ...config, apiUrl: config.apiUrl.replace(/\/+$/, '') };
}
