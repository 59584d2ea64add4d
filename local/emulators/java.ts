import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Result of {@link checkJava}. */
export type JavaCheck =
  | {
      ok: true;
      /** Version as printed by `java -version`, e.g. `17.0.15`. */
      version: string;
      /** The command that was checked (and that DynamoDB Local will be started with). */
      command: string;
    }
  | {
      ok: false;
      /** Human-readable problem and fix: names Java 17 and how to install it. */
      message: string;
    };

/** The lowest Java major version DynamoDB Local 3.x runs on. */
export const MIN_JAVA_MAJOR = 17;

/**
 * The Java launcher to use: `$JAVA_HOME/bin/java` when `JAVA_HOME` points at an installation,
 * otherwise `java` from `PATH`.
 */
export function javaCommand(): string {
  const home = process.env.JAVA_HOME;
  if (home) {
    const candidate = join(home, 'bin', process.platform === 'win32' ? 'java.exe' : 'java');
    if (existsSync(candidate)) return candidate;
  }
  return 'java';
}

/**
 * Where the Java launcher {@link javaCommand} names is, or `undefined` when there is none: a look at
 * `JAVA_HOME` and `PATH`, without starting a JVM (which {@link checkJava} does, 0.1-0.4 s).
 */
export function findJava(command: string = javaCommand()): string | undefined {
  if (command.includes('/') || command.includes('\\')) return existsSync(command) ? command : undefined;
  const names = process.platform === 'win32' ? [`${command}.exe`, command] : [command];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of names) if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * The message shown when Java is missing or too old.
 *
 * @param found - What was found instead, e.g. `none` or `11.0.2`.
 */
export function javaMissingMessage(found: string): string {
  return (
    `DynamoDB Local needs Java ${MIN_JAVA_MAJOR} or newer (found: ${found}). ` +
    'Install it: apt-get install openjdk-17-jre-headless (Debian/Ubuntu), brew install openjdk@17 (macOS), ' +
    'or set JAVA_HOME to a Java 17+ installation.'
  );
}

/**
 * Checks that a Java runtime able to run DynamoDB Local (17 or newer) is installed.
 *
 * Runs `<command> -version` synchronously (about 50 ms).
 *
 * @param command - Java launcher to check; defaults to {@link javaCommand} (honours `JAVA_HOME`).
 *   Tests pass a command that does not exist to see the failure message.
 *
 * @example
 * ```ts
 * const java = checkJava();
 * if (!java.ok) throw new Error(java.message);
 * ```
 */
export function checkJava(command: string = javaCommand()): JavaCheck {
  const result = spawnSync(command, ['-version'], { encoding: 'utf8', timeout: 15_000, windowsHide: true });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    return { ok: false, message: javaMissingMessage(code === 'ENOENT' ? 'none' : `${command}: ${code}`) };
  }
  const output = `${result.stderr ?? ''}\n${result.stdout ?? ''}`;
  const match = /version "([^"]+)"/.exec(output) ?? /^\S+ (\d+[.\d]*)/m.exec(output);
  const version = match?.[1];
  if (!version) {
    const first = output.trim().split('\n')[0] || `exit code ${result.status}`;
    return { ok: false, message: javaMissingMessage(`unrecognised "${first}"`) };
  }
  const [first = 0, second = 0] = version.split(/[.+-]/).map(Number);
  const major = first === 1 ? second : first; // "1.8.0_392" is Java 8
  if (!(major >= MIN_JAVA_MAJOR)) return { ok: false, message: javaMissingMessage(version) };
  return { ok: true, version, command };
}
