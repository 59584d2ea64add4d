/**
 * A class-data-sharing archive (AppCDS) for DynamoDB Local's JVM, kept in the state directory: the
 * first run records the classes it loads and the JVM writes them to an archive when it exits
 * (`-XX:ArchiveClassesAtExit`); later runs map that archive instead of reading, parsing and
 * verifying about 4,000 classes from 120 jars again (`-XX:SharedArchiveFile`). On this 2-core
 * machine that halves the JVM's CPU time to its first answered request (about 3.0 → 1.6 CPU-s).
 *
 * The JVM refuses to archive with DynamoDBLocal.jar as shipped: its manifest's `Class-Path` names
 * `.` (the jar's own, non-empty directory) and non-jar files (native libraries). So the archive's
 * directory holds a copy of the jar whose manifest names only the jars, next to a link to the
 * package's `DynamoDBLocal_lib`; nothing else in the jar changes.
 *
 * Safe against crashes and upgrades: the archive is written under a temporary name and renamed only
 * after the JVM exited as asked (exit code 0, or 143 for our SIGTERM) with a dynamic archive's magic
 * number at its start (a SIGKILL mid-write leaves no archive, the next run records again); the
 * directory is keyed by the jar's and the JVM's path, size and mtime (another version of either:
 * rebuilt); the JVM checks the archive's header (version, JVM, class path, size) when it maps it,
 * and with the default `-Xshare:auto` a JVM that cannot use an archive runs without it.
 * `-XX:+VerifySharedSpaces` (a checksum of the whole 38 MB archive) is not used: it took back 0.4 of
 * the 1.5 CPU-s the archive saves.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

/** What {@link prepareClassArchive} resolves: the jar to run and the JVM flags that go with it. */
export interface ClassArchive {
  /** The copy of DynamoDBLocal.jar with a `Class-Path` the JVM can archive. */
  jar: string;
  /** `-XX:SharedArchiveFile=…` when the archive exists, else `-XX:ArchiveClassesAtExit=…` (a temporary name). */
  jvmArgs: string[];
  /** Whether this run records the archive (it is written when the JVM exits). */
  recording: boolean;
  /** After the JVM has exited: keeps the recorded archive when it exited by itself (no signal of ours killed it). */
  finish(exit: { code: number | null; signal: NodeJS.Signals | null } | undefined): Promise<void>;
}

const ARCHIVE = 'classes.jsa';
const RECORDING = 'classes.jsa.recording';

/**
 * Prepares `dir` for DynamoDB Local's class archive and returns how to start the JVM with it.
 * Resolves `undefined` (run without an archive) when the jar cannot be rewritten or the link not
 * made (e.g. symlinks not allowed): the archive only makes the start faster.
 */
export async function prepareClassArchive(options: {
  dir: string;
  jar: string;
  libraryPath: string;
  java: string;
}): Promise<ClassArchive | undefined> {
  const { dir, jar, libraryPath } = options;
  const key = JSON.stringify({ jar: fileKey(jar), jvm: jvmKey(options.java), format: 1 });
  const keyFile = join(dir, 'key.json');
  const copy = join(dir, 'DynamoDBLocal.jar');
  try {
    if (!existsSync(keyFile) || readFileSync(keyFile, 'utf8') !== key) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await writeFile(`${copy}.tmp`, rewriteManifest(await readFile(jar), archivableClassPath));
      await rename(`${copy}.tmp`, copy);
      await symlink(libraryPath, join(dir, 'DynamoDBLocal_lib'), 'dir');
      await writeFile(keyFile, key); // last: without it the directory is rebuilt
    }
  } catch {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    return undefined;
  }
  const archive = join(dir, ARCHIVE);
  const recording = join(dir, RECORDING);
  await rm(recording, { force: true }); // left by a JVM that was killed while writing it
  const recordingRun = !existsSync(archive);
  return {
    jar: copy,
    jvmArgs: recordingRun ? [`-XX:ArchiveClassesAtExit=${recording}`] : [`-XX:SharedArchiveFile=${archive}`],
    recording: recordingRun,
    async finish(exit) {
      if (!recordingRun) return;
      const clean = exit && exit.signal === null && (exit.code === 0 || exit.code === 143);
      if (clean && (await hasArchiveMagic(recording))) await rename(recording, archive);
      else await rm(recording, { force: true });
    },
  };
}

/** Whether `file` starts with the magic number of a dynamic CDS archive (0xf00baba8, little-endian here). */
async function hasArchiveMagic(file: string): Promise<boolean> {
  try {
    const handle = await open(file, 'r');
    try {
      const head = Buffer.alloc(4);
      const { bytesRead } = await handle.read(head, 0, 4, 0);
      return bytesRead === 4 && (head.readUInt32LE(0) === 0xf00baba8 || head.readUInt32BE(0) === 0xf00baba8);
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/** Path, size and mtime of a file: another version of it means another key. */
function fileKey(file: string): string {
  const real = realpathSync(file);
  const stat = statSync(real);
  return `${real}:${stat.size}:${stat.mtimeMs}`;
}

/** The JVM's identity: its launcher resolved through PATH and links, and its libjvm. */
function jvmKey(java: string): string {
  const launcher = java.includes('/')
    ? java
    : (process.env.PATH ?? '')
        .split(delimiter)
        .map((d) => join(d, java))
        .find((p) => existsSync(p));
  if (!launcher) return java;
  const real = realpathSync(launcher);
  const libjvm = join(dirname(dirname(real)), 'lib', 'server', 'libjvm.so');
  return existsSync(libjvm) ? `${fileKey(real)};${fileKey(libjvm)}` : fileKey(real);
}

/** `Class-Path` without the entries the JVM cannot archive: directories (`.`) and files that are no jars. */
export function archivableClassPath(classPath: string): string {
  return classPath
    .split(/\s+/)
    .filter((entry) => entry.endsWith('.jar'))
    .join(' ');
}

/**
 * A copy of a jar whose `META-INF/MANIFEST.MF` has its `Class-Path` passed through `edit`; every
 * other entry keeps its bytes and offset. The new manifest is appended (stored) after the entries,
 * followed by a new central directory pointing at it; the old manifest's bytes stay unreferenced.
 */
export function rewriteManifest(zip: Buffer, edit: (classPath: string) => string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd < zip.length - 22 - 0xffff) throw new Error('not a zip file');
  const entries = zip.readUInt16LE(eocd + 10);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  if (entries === 0xffff || cdOffset === 0xffffffff) throw new Error('zip64 is not supported');
  const central: Buffer[] = [];
  let manifest: { header: Buffer; text: string } | undefined;
  for (let at = cdOffset, i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('bad central directory');
    const length = 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const header = Buffer.from(zip.subarray(at, at + length));
    const name = zip.toString('utf8', at + 46, at + 46 + zip.readUInt16LE(at + 28));
    if (name === 'META-INF/MANIFEST.MF') {
      const local = header.readUInt32LE(42);
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(data, data + header.readUInt32LE(20));
      const method = header.readUInt16LE(10);
      if (method !== 0 && method !== 8) throw new Error(`manifest compressed with method ${method}`);
      manifest = { header, text: (method === 8 ? inflateRawSync(raw) : raw).toString('utf8') };
    }
    central.push(header);
    at += length;
  }
  if (!manifest) throw new Error('no META-INF/MANIFEST.MF');
  const text = Buffer.from(editManifest(manifest.text, edit), 'utf8');
  const name = Buffer.from('META-INF/MANIFEST.MF');
  const crc = crc32(text);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(manifest.header.readUInt16LE(6), 4); // version needed
  local.writeUInt16LE(0, 6); // flags: no data descriptor
  local.writeUInt16LE(0, 8); // stored
  local.writeUInt32LE(manifest.header.readUInt32LE(12), 10); // time and date
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(text.length, 18);
  local.writeUInt32LE(text.length, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28);
  const header = manifest.header;
  header.writeUInt16LE(header.readUInt16LE(8) & ~0x0008, 8);
  header.writeUInt16LE(0, 10);
  header.writeUInt32LE(crc, 16);
  header.writeUInt32LE(text.length, 20);
  header.writeUInt32LE(text.length, 24);
  header.writeUInt32LE(cdOffset, 42); // the new local entry goes where the central directory was
  const newCentral = Buffer.concat(central);
  const end = Buffer.from(zip.subarray(eocd));
  end.writeUInt32LE(newCentral.length, 12);
  end.writeUInt32LE(cdOffset + local.length + name.length + text.length, 16);
  return Buffer.concat([zip.subarray(0, cdOffset), local, name, text, newCentral, end]);
}

/** A manifest with its `Class-Path` edited, lines folded at 72 bytes as the jar specification asks. */
export function editManifest(text: string, edit: (classPath: string) => string): string {
  const lines = text.replace(/\r?\n /g, '').split(/\r?\n/);
  const out: string[] = [];
  for (const line of lines) {
    const edited = line.startsWith('Class-Path:') ? `Class-Path: ${edit(line.slice(11).trim())}` : line;
    let rest = edited;
    out.push(rest.slice(0, 72));
    rest = rest.slice(72);
    while (rest.length > 0) {
      out.push(` ${rest.slice(0, 71)}`);
      rest = rest.slice(71);
    }
  }
  return out.join('\r\n');
}
