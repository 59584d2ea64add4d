/**
 * Configuration read from the function's environment, nothing else: the same code runs on AWS,
 * LocalStack and the embedded local cloud, which differ only in the values they set.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Returns the variable's value or throws a {@link ConfigError} naming it. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`Environment variable ${name} is not set`);
  return value;
}

/** Returns the variable's value, or `fallback` when it is unset or empty. */
export function optionalEnv(name: string, fallback?: string, env: NodeJS.ProcessEnv = process.env) {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}
